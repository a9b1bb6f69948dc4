package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
)

// newConfigWatchCmd is `wharf config watch APP`: what an Apollo client
// does — long polls /notifications/v2 and reads /configs on each change.
func newConfigWatchCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var cluster string
	var namespaces []string
	var once bool
	return newClientCommand(&f, clientCommand{
		Use:   "watch APP [-n NS]... [--once]",
		Short: "Print a namespace's released configuration, then again on every change (as an Apollo client sees it)",
		Args:  cobra.ExactArgs(1),
		Flags: func(fl *pflag.FlagSet) {
			fl.StringVar(&cluster, "cluster", model.DefaultCluster, "the cluster")
			fl.StringSliceVarP(&namespaces, "namespace", "n", []string{model.DefaultNamespace}, "namespaces to watch (repeat or comma-separate)")
			fl.BoolVar(&once, "once", false, "exit after the first change that follows the current values")
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			w := &configWatch{c: c, app: args[0], cluster: cluster, out: stdout, json: f.json(), ids: map[string]int64{}, keys: map[string]string{}}
			for _, ns := range namespaces {
				w.ids[ns] = -1
			}
			return w.run(cmd.Context(), once)
		},
	})
}

// configWatch is one watch's state: the notification id and release key
// of each namespace.
type configWatch struct {
	c            *apiclient.Client
	app, cluster string
	out          io.Writer
	json         bool
	ids          map[string]int64
	keys         map[string]string
}

func (w *configWatch) run(ctx context.Context, once bool) error {
	backoff := time.Second
	for {
		got, err := w.poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ae *apiclient.Error
			if errors.As(err, &ae) && ae.Status < 500 && ae.Status != http.StatusTooManyRequests {
				return err
			}
			fmt.Fprintf(os.Stderr, "# %v; retrying in %s\n", err, backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		for _, n := range got {
			change, err := w.show(ctx, n)
			if err != nil {
				return err
			}
			if once && change {
				return nil
			}
		}
	}
}

// poll is one /notifications/v2 request; nil on 304.
func (w *configWatch) poll(ctx context.Context) ([]config.ApolloNotification, error) {
	var list []map[string]any
	for ns, id := range w.ids {
		list = append(list, map[string]any{"namespaceName": ns, "notificationId": id})
	}
	b, _ := json.Marshal(list)
	q := url.Values{"appId": {w.app}, "cluster": {w.cluster}, "notifications": {string(b)}}
	resp, err := w.c.Download(ctx, "/notifications/v2?"+q.Encode())
	if apiclient.IsStatus(err, http.StatusNotModified) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []config.ApolloNotification
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("cannot decode the notifications: %w", err)
	}
	return out, nil
}

// show reads the namespace n names and prints it when its release changed;
// change says it was printed before (not the first values). The
// notification's messages go with the read, so that no node answers a
// release older than the notification.
func (w *configWatch) show(ctx context.Context, n config.ApolloNotification) (change bool, _ error) {
	w.ids[n.NamespaceName] = n.NotificationID
	q := url.Values{}
	if k := w.keys[n.NamespaceName]; k != "" {
		q.Set("releaseKey", k)
	}
	if n.Messages != nil {
		b, _ := json.Marshal(n.Messages)
		q.Set("messages", string(b))
	}
	var cfg config.ApolloConfig
	err := w.c.Do(ctx, "GET", "/configs/"+url.PathEscape(w.app)+"/"+url.PathEscape(w.cluster)+"/"+url.PathEscape(n.NamespaceName)+"?"+q.Encode(), nil, &cfg)
	switch {
	case apiclient.IsStatus(err, http.StatusNotModified), apiclient.IsStatus(err, http.StatusNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	change = w.keys[n.NamespaceName] != ""
	w.keys[n.NamespaceName] = cfg.ReleaseKey
	if w.json {
		return change, cliout.WriteJSON(w.out, cfg)
	}
	fmt.Fprintf(w.out, "# %s %s/%s/%s release %s (notification %s)\n", time.Now().UTC().Format(time.RFC3339), w.app, cfg.Cluster, n.NamespaceName,
		cfg.ReleaseKey, strconv.FormatInt(n.NotificationID, 10))
	rows := cliout.NewRows("KEY", "VALUE")
	for _, k := range model.SortedKeys(cfg.Configurations) {
		rows.Add(k, cliout.Cell(cfg.Configurations[k]))
	}
	return change, rows.Write(w.out, "No keys.")
}
