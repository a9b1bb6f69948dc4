package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/deploy/logring"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/apiclient"
)

// logsPollEvery is how often `wharf logs --follow` asks for new lines.
const logsPollEvery = time.Second

// logsAnswer is the answer of GET /api/v1/apps/{app}/logs.
type logsAnswer struct {
	Lines  []wire.LogLine `json:"lines"`
	Cursor uint64         `json:"cursor"`
	More   bool           `json:"more"`
	Gap    bool           `json:"gap"`
}

// newLogsCmd is `wharf logs APP`: the output of the app's instances, as
// their agents shipped it, team-scoped.
func newLogsCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var host, instance, process, since string
	var tail int
	var follow bool
	c := &cobra.Command{
		Use:   "logs APP",
		Short: "Show the output of an app's instances on every host (--follow to stream new lines)",
		Example: "  wharf logs shop --since 10m\n" +
			"  wharf logs shop --host a1 --process web --follow\n" +
			"  wharf logs shop --tail 50 -o json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tail < 1 || tail > logring.MaxLimit {
				return fmt.Errorf("--tail: want a number of lines from 1 to %d, got %d", logring.MaxLimit, tail)
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"host": host, "instance": instance, "process": process, "since": since} {
				if v != "" {
					q.Set(k, v)
				}
			}
			q.Set("limit", strconv.Itoa(tail))
			l := logsReader{c: c, app: args[0], query: q, w: stdout, stderr: cmd.ErrOrStderr(), json: f.output == "json"}
			cursor, n, err := l.page(cmd.Context(), 0, false)
			if err != nil {
				return err
			}
			if n == 0 && !l.json {
				fmt.Fprintf(l.stderr, "No log lines of %s match.\n", args[0])
			}
			if !follow {
				return nil
			}
			return l.follow(cmd.Context(), cursor)
		},
	}
	f.bind(c)
	fl := c.Flags()
	fl.StringVar(&host, "host", "", "only the lines of this host id")
	fl.StringVar(&instance, "instance", "", "only the lines of this instance id (as WHARF_INSTANCE)")
	fl.StringVar(&process, "process", "", "only the lines of this manifest process, e.g. web")
	fl.StringVar(&since, "since", "", "only lines this recent (10m) or since this RFC 3339 time")
	fl.IntVar(&tail, "tail", logring.DefaultLimit, "how many of the latest lines to show first")
	fl.BoolVarP(&follow, "follow", "f", false, "keep printing new lines as they come, until interrupted")
	return c
}

// logsReader prints pages of an app's log lines.
type logsReader struct {
	c         *apiclient.Client
	app       string
	query     url.Values
	w, stderr io.Writer
	json      bool
}

// page prints the latest lines, or with after the lines after cursor,
// and returns the next cursor and how many lines it printed.
func (l *logsReader) page(ctx context.Context, cursor uint64, after bool) (uint64, int, error) {
	q := url.Values{}
	for k, v := range l.query {
		q[k] = v
	}
	if after {
		q.Set("after", strconv.FormatUint(cursor, 10))
		q.Set("limit", strconv.Itoa(logring.MaxLimit))
	}
	var a logsAnswer
	if err := l.c.Do(ctx, "GET", appPath(l.app)+"/logs?"+q.Encode(), nil, &a); err != nil {
		return cursor, 0, err
	}
	if a.Gap {
		fmt.Fprintln(l.stderr, "warning: some lines were dropped from the server's buffer before they were read")
	}
	for _, line := range a.Lines {
		l.print(line)
	}
	return a.Cursor, len(a.Lines), nil
}

// follow polls for new lines until ctx ends.
func (l *logsReader) follow(ctx context.Context, cursor uint64) error {
	t := time.NewTicker(logsPollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		next, _, err := l.page(ctx, cursor, true)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		cursor = next
	}
}

// print writes one line: "TIME HOST/INSTANCE PROCESS STREAM| TEXT", or
// one JSON object per line with -o json.
func (l *logsReader) print(line wire.LogLine) {
	if l.json {
		b, _ := json.Marshal(line)
		fmt.Fprintf(l.w, "%s\n", b)
		return
	}
	fmt.Fprintf(l.w, "%s %s/%s %s %s| %s\n", line.At.Local().Format("2006-01-02T15:04:05.000"), line.Host, line.Instance, line.Process, line.Stream, escapeControls(line.Text))
}

// escapeControls shows the C0 and C1 control characters of an app's line
// (but tab) as \xNN or \u00NN, so that what an app logs — a client's
// User-Agent, say — cannot send escape sequences to the reader's terminal.
func escapeControls(s string) string {
	clean := true
	for _, r := range s {
		if isControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !isControl(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

func isControl(r rune) bool {
	return r != '\t' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0)
}
