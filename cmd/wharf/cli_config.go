package main

import (
	"errors"
	"fmt"
	"io"
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

// nsFlags are the flags of every `wharf config` command that acts on one
// namespace: the connection, --cluster and --namespace.
type nsFlags struct {
	clientFlags
	cluster, namespace string
}

func (f *nsFlags) bind(cmd *cobra.Command) {
	f.clientFlags.bind(cmd)
	cmd.Flags().StringVar(&f.cluster, "cluster", model.DefaultCluster, "the cluster (an environment or room)")
	cmd.Flags().StringVarP(&f.namespace, "namespace", "n", model.DefaultNamespace, "the namespace (its format by its name: x.json, x.yaml, x.xml, x.txt; else properties)")
}

// path is the team API path of app's namespace, with suffix.
func (f *nsFlags) path(app, suffix string) string {
	return "/api/v1/config/apps/" + url.PathEscape(app) + "/clusters/" + url.PathEscape(f.cluster) + "/namespaces/" + url.PathEscape(f.namespace) + suffix
}

// newConfigCmd is `wharf config ...`: an app's configuration (Apollo's
// protocol for its clients).
func newConfigCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "An app's configuration: edit, publish, diff, roll back, gray releases, watch, access keys"}
	cmd.AddCommand(newConfigGetCmd(stdout), newConfigSetCmd(stdout), newConfigDeleteCmd(stdout), newConfigImportCmd(stdout),
		newConfigPublishCmd(stdout), newConfigDiffCmd(stdout), newConfigHistoryCmd(stdout), newConfigRollbackCmd(stdout),
		newConfigGrayCmd(stdout), newConfigWatchCmd(stdout), newConfigAccessKeyCmd(stdout))
	return cmd
}

func newConfigGetCmd(stdout io.Writer) *cobra.Command {
	var f nsFlags
	return newClientCommand(&f, clientCommand{
		Use:   "get APP [KEY]",
		Short: "Show a namespace's draft, key by key, and what differs from the release clients read (KEY: that value only)",
		Args:  cobra.RangeArgs(1, 2),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			var v config.NamespaceView
			if err := c.Do(cmd.Context(), "GET", f.path(args[0], ""), nil, &v); err != nil {
				return err
			}
			released := map[string]string{}
			if v.Main > 0 {
				var rel model.Release
				if err := c.Do(cmd.Context(), "GET", f.path(args[0], "/releases/"+strconv.FormatInt(v.Main, 10)), nil, &rel); err != nil {
					return err
				}
				released = rel.Configurations
			}
			if len(args) == 2 {
				val, ok := v.Draft.Items[args[1]]
				if !ok {
					return fmt.Errorf("key %q is not in the draft of %s", args[1], f.namespace)
				}
				return f.emit(stdout, map[string]string{"key": args[1], "value": val, "released": released[args[1]]}, func() error {
					_, err := fmt.Fprintln(stdout, val)
					return err
				})
			}
			return f.emit(stdout, v, func() error {
				fmt.Fprintf(stdout, "# %s/%s/%s (%s), release %d, draft version %d\n", args[0], f.cluster, f.namespace, v.Format, v.Main, v.DraftVersion)
				rows := cliout.NewRows("KEY", "VALUE", "STATE")
				for _, ch := range model.Diff(released, v.Draft.Items) {
					if ch.Op == model.Deleted {
						rows.Add(ch.Key, cliout.Cell(ch.Old), "deleted, unpublished")
					}
				}
				for _, k := range model.SortedKeys(v.Draft.Items) {
					state := "published"
					if old, ok := released[k]; !ok {
						state = "new, unpublished"
					} else if old != v.Draft.Items[k] {
						state = "changed, unpublished"
					}
					rows.Add(k, cliout.Cell(v.Draft.Items[k]), state)
				}
				return rows.Write(stdout, "No keys.")
			})
		},
	})
}

func newConfigSetCmd(stdout io.Writer) *cobra.Command {
	var f nsFlags
	return newClientCommand(&f, clientCommand{
		Use:   "set APP KEY VALUE",
		Short: "Set a key in the draft (publish makes clients read it)",
		Args:  cobra.ExactArgs(3),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			return doEmit(cmd, c, &f.clientFlags, stdout, "PUT", f.path(args[0], "/items/"+url.PathEscape(args[1])), map[string]string{"value": args[2]}, func(out config.DraftView) error {
				_, err := fmt.Fprintf(stdout, "Set %s in the draft of %s/%s/%s (draft version %d). Publish: wharf config publish %s\n", args[1], args[0], f.cluster, f.namespace, out.Version, args[0])
				return err
			})
		},
	})
}

func newConfigDeleteCmd(stdout io.Writer) *cobra.Command {
	var f nsFlags
	return newClientCommand(&f, clientCommand{
		Use:   "delete APP KEY",
		Short: "Delete a key from the draft",
		Args:  cobra.ExactArgs(2),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			return doEmit(cmd, c, &f.clientFlags, stdout, "DELETE", f.path(args[0], "/items/"+url.PathEscape(args[1])), nil, func(out config.DraftView) error {
				_, err := fmt.Fprintf(stdout, "Deleted %s from the draft of %s/%s/%s (draft version %d).\n", args[1], args[0], f.cluster, f.namespace, out.Version)
				return err
			})
		},
	})
}

func newConfigImportCmd(stdout io.Writer) *cobra.Command {
	var f nsFlags
	var file string
	var text string
	return newClientCommand(&f, clientCommand{
		Use:   "import APP -f FILE",
		Short: "Replace the draft with a file: properties text for a properties namespace, else the whole json/yaml/xml/txt text (- for stdin)",
		Args:  cobra.ExactArgs(1),
		Flags: func(fl *pflag.FlagSet) { fl.StringVarP(&file, "file", "f", "", "the file to import (- for stdin)") },
		Prepare: func(*cobra.Command, []string) error {
			if file == "" {
				return errors.New("give the file with -f FILE (- for stdin)")
			}
			b, err := readConfigFile(os.Stdin, file, "the config file")
			text = string(b)
			return err
		},
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			return doEmit(cmd, c, &f.clientFlags, stdout, "PUT", f.path(args[0], "/draft"), config.PutDraft{Content: &text}, func(out config.DraftView) error {
				_, err := fmt.Fprintf(stdout, "Imported %d keys into the draft of %s/%s/%s (draft version %d).\n", len(out.Items), args[0], f.cluster, f.namespace, out.Version)
				return err
			})
		},
	})
}

func newConfigPublishCmd(stdout io.Writer) *cobra.Command {
	var f nsFlags
	var comment string
	return newClientCommand(&f, clientCommand{
		Use:   "publish APP [--comment C]",
		Short: "Publish the draft: a release clients read at once (their held polls are answered)",
		Args:  cobra.ExactArgs(1),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			return doEmit(cmd, c, &f.clientFlags, stdout, "POST", f.path(args[0], "/releases"), config.Publish{Comment: comment}, func(rel model.Release) error {
				return printRelease(stdout, "Published", rel)
			})
		},
		Flags: func(fl *pflag.FlagSet) {
			fl.StringVar(&comment, "comment", "", "what the release changes, for the history")
		},
	})
}

// printRelease prints a release with its diff to the previous one.
func printRelease(w io.Writer, verb string, rel model.Release) error {
	fmt.Fprintf(w, "%s release %d (%s, %s) of %s/%s/%s: %s\n", verb, rel.ID, rel.Branch, rel.Key, rel.App, rel.Cluster, rel.Namespace, cliout.Cell(rel.Comment))
	return printChanges(w, rel.Diff)
}

func printChanges(w io.Writer, changes []model.Change) error {
	rows := cliout.NewRows("", "KEY", "OLD", "NEW")
	for _, ch := range changes {
		mark := map[model.Op]string{model.Added: "+", model.Deleted: "-", model.Changed: "~"}[ch.Op]
		rows.Add(mark, ch.Key, cliout.Cell(ch.Old), cliout.Cell(ch.New))
	}
	return rows.Write(w, "No changes.")
}

func newConfigDiffCmd(stdout io.Writer) *cobra.Command {
	var f nsFlags
	var from, to string
	return newClientCommand(&f, clientCommand{
		Use:   "diff APP [--from ID] [--to ID|draft]",
		Short: "The changes between two releases (default: from the release clients read to the draft)",
		Args:  cobra.ExactArgs(1),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			q := url.Values{"to": {to}}
			if from != "" {
				q.Set("from", from)
			}
			return getEmit(cmd, c, &f.clientFlags, stdout, f.path(args[0], "/diff?"+q.Encode()), func(d config.DiffView) error { return printChanges(stdout, d.Changes) })
		},
		Flags: func(fl *pflag.FlagSet) {
			fl.StringVar(&from, "from", "", "release id (default: the one before --to; for the draft, the current release)")
			fl.StringVar(&to, "to", "draft", "release id, or draft")
		},
	})
}

func newConfigHistoryCmd(stdout io.Writer) *cobra.Command {
	var f nsFlags
	return newClientCommand(&f, clientCommand{
		Use:   "history APP",
		Short: "Every release of a namespace, main and gray, newest first; the one clients read is marked",
		Args:  cobra.ExactArgs(1),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			return getEmit(cmd, c, &f.clientFlags, stdout, f.path(args[0], "/releases"), func(l config.ReleaseList) error {
				rows := cliout.NewRows("ID", "BRANCH", "READ", "AUTHOR", "PUBLISHED", "CHANGES", "COMMENT")
				now := time.Now()
				for _, r := range l.Releases {
					read := ""
					if r.ID == l.Main || r.ID == l.Gray {
						read = "*"
					}
					rows.Add(strconv.FormatInt(r.ID, 10), r.Branch, cliout.Cell(read), r.Author, cliout.Ago(r.CreatedAt, now), strconv.Itoa(len(r.Diff)), cliout.Cell(r.Comment))
				}
				return rows.Write(stdout, "No releases.")
			})
		},
	})
}

func newConfigRollbackCmd(stdout io.Writer) *cobra.Command {
	var f nsFlags
	var to int64
	var comment string
	return newClientCommand(&f, clientCommand{
		Use:   "rollback APP [--to ID]",
		Short: "Point clients at an earlier release (default: the one before the current); the draft stays",
		Args:  cobra.ExactArgs(1),
		Run: func(cmd *cobra.Command, c *apiclient.Client, args []string) error {
			return doEmit(cmd, c, &f.clientFlags, stdout, "POST", f.path(args[0], "/rollback"), config.Publish{To: to, Comment: comment}, func(rel model.Release) error {
				_, err := fmt.Fprintf(stdout, "Clients of %s/%s/%s read release %d (%s) again.\n", args[0], f.cluster, f.namespace, rel.ID, rel.Key)
				return err
			})
		},
		Flags: func(fl *pflag.FlagSet) {
			fl.Int64Var(&to, "to", 0, "the release to return to (default: the one before the current)")
			fl.StringVar(&comment, "comment", "", "why, for the audit")
		},
	})
}
