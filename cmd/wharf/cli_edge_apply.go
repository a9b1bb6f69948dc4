package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/config"
)

// writeFlags are the flags of the commands that replace the whole edge
// config after showing the diff: apply and rollback.
type writeFlags struct {
	clientFlags
	dryRun bool
	yes    bool
	force  bool
}

func (f *writeFlags) bind(cmd *cobra.Command) {
	f.clientFlags.bind(cmd)
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "only show the diff against the stored config")
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "apply without asking (needed when stdin is not a terminal)")
	cmd.Flags().BoolVar(&f.force, "force", false, "write even a config that locks out this client or 127.0.0.1 (the CLI and the local agent)")
}

// edgeWrite is one whole-config change: what it turns the stored config
// into, and how to write it against a stored version.
type edgeWrite struct {
	label  string
	target func(ctx context.Context, cl *apiclient.Client) (config.Edge, error)
	write  func(ctx context.Context, cl *apiclient.Client, ifVersion int64) (int64, error)
	// confirm asks whether to make the changes just shown; nil asks on
	// stdin when it is a terminal and refuses otherwise.
	confirm func() (bool, error)
}

// run shows the diff, asks, and writes with compare-and-set on the version
// the diff was made against. When the config changed meanwhile (409) it
// shows the new diff and asks again; with --yes it stops instead, so a
// change made meanwhile is never overwritten unseen.
func (w edgeWrite) run(cmd *cobra.Command, f *writeFlags, stdout io.Writer) error {
	ctx := cmd.Context()
	cl, err := f.client()
	if err != nil {
		return err
	}
	confirm := w.confirm
	if confirm == nil {
		confirm = askOnTerminal(cmd.InOrStdin(), stdout)
	}
	for {
		var cur edge.Doc
		if err := cl.Do(ctx, "GET", "/api/v1/gateway/config", nil, &cur); err != nil {
			return err
		}
		target, err := w.target(ctx, cl)
		if err != nil {
			return err
		}
		diff := edge.Compare(cur.Edge, target)
		fmt.Fprintf(stdout, "Stored edge config: version %d (by %s). Changes to make it %s:\n%s", cur.Version, cur.UpdatedBy, w.label, diff)
		if diff.Empty() {
			fmt.Fprintf(stdout, "Nothing to do: the stored config already equals %s.\n", w.label)
			return nil
		}
		if f.dryRun {
			fmt.Fprintln(stdout, "Dry run: nothing changed.")
			return nil
		}
		if !f.yes {
			ok, err := confirm()
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("aborted: nothing changed")
			}
		}
		v, err := w.write(ctx, cl, cur.Version)
		if apiclient.IsStatus(err, http.StatusConflict) {
			fmt.Fprintf(stdout, "The edge config changed while you looked (%v).\n", err)
			if f.yes {
				return fmt.Errorf("the edge config changed since the diff was made: nothing changed; run again to see the new diff")
			}
			fmt.Fprintln(stdout, "The new diff:")
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Done: edge config version %d.\n", v)
		return nil
	}
}

// askOnTerminal asks "Make these changes?" when stdin is a terminal and
// refuses (asking for --yes) when it is not.
func askOnTerminal(stdin io.Reader, stdout io.Writer) func() (bool, error) {
	in := bufio.NewReader(stdin)
	return func() (bool, error) {
		if !stdinIsTerminal(stdin) {
			return false, fmt.Errorf("stdin is not a terminal: pass --yes to make these changes (or --dry-run to only see them)")
		}
		fmt.Fprint(stdout, "Make these changes? [y/N] ")
		line, _ := in.ReadString('\n')
		a := strings.ToLower(strings.TrimSpace(line))
		return a == "y" || a == "yes", nil
	}
}

// stdinIsTerminal reports whether r is a terminal (a person can answer).
func stdinIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && stdinTerminal(f)
}

// readEdgeFile reads a Wharf config file (the one `wharf serve --config`
// takes) and returns its edge config the way a start would seed it. The
// environment and flags are not read.
func readEdgeFile(file string) (config.Edge, error) {
	fs := pflag.NewFlagSet("edge-file", pflag.ContinueOnError)
	l := config.Bind(fs)
	if err := fs.Parse([]string{"--config", file}); err != nil {
		return config.Edge{}, fmt.Errorf("cannot read %s: %w", file, err)
	}
	opts, err := l.Load(nil)
	if err != nil {
		return config.Edge{}, err
	}
	e := opts.Edge()
	if err := edge.Validate(e); err != nil {
		return config.Edge{}, fmt.Errorf("config file %s: %w", file, err)
	}
	return e, nil
}

func newEdgeApplyCmd(stdout io.Writer) *cobra.Command {
	var f writeFlags
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Replace the stored edge config with a config file's, after showing the diff",
		Long: `Shows how the file's edge config (gateway.acl, limits, services, routes) differs
from the stored one, asks, and replaces it. The write is refused when the stored
config changed after the diff was shown; you then see the new diff.`,
		Example: "  wharf edge apply -f wharf.yaml --dry-run\n  wharf edge apply -f wharf.yaml --yes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := readEdgeFile(file)
			if err != nil {
				return err
			}
			return applyFile(file, e, f.force).run(cmd, &f, stdout)
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "Wharf YAML config file")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// applyFile is the write of `edge apply`: e, read from file, replaces the
// stored config.
func applyFile(file string, e config.Edge, force bool) edgeWrite {
	return edgeWrite{
		label:  file,
		target: func(context.Context, *apiclient.Client) (config.Edge, error) { return e, nil },
		write: func(ctx context.Context, cl *apiclient.Client, ifVersion int64) (int64, error) {
			var out struct {
				Version int64 `json:"version"`
			}
			body := map[string]any{"config": e, "if_version": ifVersion, "source": filepath.Base(file), "force": force}
			err := cl.Do(ctx, "PUT", "/api/v1/gateway/config", body, &out)
			return out.Version, err
		},
	}
}

func newEdgeRollbackCmd(stdout io.Writer) *cobra.Command {
	var f writeFlags
	cmd := &cobra.Command{
		Use:     "rollback VERSION",
		Short:   "Restore an old edge config version as a new version, after showing the diff",
		Example: "  wharf edge history\n  wharf edge rollback 3 --dry-run",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var v int64
			if _, err := fmt.Sscan(args[0], &v); err != nil || v < 1 {
				return fmt.Errorf("VERSION must be a positive integer, got %q", args[0])
			}
			return edgeWrite{
				label: fmt.Sprintf("version %d", v),
				target: func(ctx context.Context, cl *apiclient.Client) (config.Edge, error) {
					var d edge.Doc
					err := cl.Do(ctx, "GET", fmt.Sprintf("/api/v1/gateway/history/%d", v), nil, &d)
					return d.Edge, err
				},
				write: func(ctx context.Context, cl *apiclient.Client, ifVersion int64) (int64, error) {
					var out struct {
						Version int64 `json:"version"`
					}
					err := cl.Do(ctx, "POST", "/api/v1/gateway/rollback", map[string]any{"version": v, "if_version": ifVersion, "force": f.force}, &out)
					return out.Version, err
				},
			}.run(cmd, &f, stdout)
		},
	}
	f.bind(cmd)
	return cmd
}

func newEdgeStatusCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the stored edge config's version and whether the node's start-up file differs from it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := f.client()
			if err != nil {
				return err
			}
			var out struct {
				File      string    `json:"file"`
				Version   int64     `json:"stored_version"`
				UpdatedBy string    `json:"updated_by"`
				UpdatedAt time.Time `json:"updated_at"`
				Action    string    `json:"action"`
				Differs   bool      `json:"differs"`
				Summary   string    `json:"summary"`
				Diff      edge.Diff `json:"diff"`
				Apply     string    `json:"apply"`
			}
			if err := cl.Do(cmd.Context(), "GET", "/api/v1/gateway/file", nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, out)
			}
			fmt.Fprintf(stdout, "Stored edge config: version %d, by %s at %s (%s).\n", out.Version, out.UpdatedBy, out.UpdatedAt.Format(time.RFC3339), out.Action)
			file := out.File
			if file == "" {
				file = "(flags only)"
			}
			if !out.Differs {
				fmt.Fprintf(stdout, "Start-up config %s: matches the stored config.\n", file)
				return nil
			}
			fmt.Fprintf(stdout, "Start-up config %s: differs from the stored config (the stored one is served): %s\n%sTo apply it: %s\n",
				file, out.Summary, out.Diff, out.Apply)
			return nil
		},
	}
	f.bind(cmd)
	return cmd
}
