package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/artifacts"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/config"
)

// Dynamic shell completion: names fetched from the API with the command's
// credentials (its flags, environment, context), within completeTimeout;
// when the server cannot be reached or refuses, nothing is offered and
// no error is shown.

// completeTimeout bounds the API calls of one completion.
const completeTimeout = 3 * time.Second

// completer is a ValidArgsFunction.
type completer = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

const noFiles = cobra.ShellCompDirectiveNoFileComp

// completionClient is an API client built from cmd's parsed flags, or nil.
func completionClient(cmd *cobra.Command) *apiclient.Client {
	var f clientFlags
	fl := cmd.Flags()
	get := func(name string) string {
		if v := fl.Lookup(name); v != nil {
			return v.Value.String()
		}
		return ""
	}
	f.server, f.token, f.context, f.dataDir = get("server"), get("token"), get("context"), get("data-dir")
	if f.dataDir == "" {
		f.dataDir = envOr("WHARF_DATA_DIR", "./data")
	}
	f.output = "table"
	c, err := f.client()
	if err != nil {
		return nil
	}
	return c
}

// fetchNames calls GET path and returns the names list picks from the answer.
func fetchNames[T any](cmd *cobra.Command, path string, pick func(T) []string) []string {
	c := completionClient(cmd)
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completeTimeout)
	defer cancel()
	var out T
	if err := c.Do(ctx, "GET", path, nil, &out); err != nil {
		return nil
	}
	return pick(out)
}

// filterPrefix keeps the names starting with prefix, sorted and unique.
func filterPrefix(names []string, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// appNames are the apps the token may see (GET /api/v1/apps).
func appNames(cmd *cobra.Command) []string {
	return fetchNames(cmd, "/api/v1/apps", func(out appsResponse) []string {
		var n []string
		for _, a := range out.Apps {
			n = append(n, a.App)
		}
		return n
	})
}

// versionNames are an app's pushed versions, newest first.
func versionNames(cmd *cobra.Command, app string) []string {
	return fetchNames(cmd, artifactPath(url.PathEscape(app), ""), func(out artifacts.ListResponse) []string {
		var n []string
		for _, m := range out.Artifacts {
			n = append(n, m.Version)
		}
		return n
	})
}

// edgeNames are the names of routes, services or limits in the edge config.
func edgeNames(cmd *cobra.Command, plural string) []string {
	return fetchNames(cmd, "/api/v1/gateway/"+plural, func(out map[string]json.RawMessage) []string {
		var objs []struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(out[plural], &objs) != nil {
			return nil
		}
		var n []string
		for _, o := range objs {
			n = append(n, o.Name)
		}
		if plural == "routes" {
			for _, b := range config.BuiltinRoutes() {
				n = append(n, b.Name)
			}
		}
		return n
	})
}

// positional completes the n-th argument (0-based) with names(cmd, args)
// and offers nothing for the others.
func positional(fns ...func(cmd *cobra.Command, args []string) []string) completer {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= len(fns) || fns[len(args)] == nil {
			return nil, noFiles
		}
		return filterPrefix(fns[len(args)](cmd, args), toComplete), noFiles
	}
}

// completeAll completes every argument with fn (commands taking a list).
func completeAll(fn func(cmd *cobra.Command, args []string) []string) completer {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return filterPrefix(fn(cmd, args), toComplete), noFiles
	}
}

func argApps(cmd *cobra.Command, _ []string) []string { return appNames(cmd) }

func argVersions(cmd *cobra.Command, args []string) []string { return versionNames(cmd, args[0]) }

func argEdge(plural string) func(*cobra.Command, []string) []string {
	return func(cmd *cobra.Command, _ []string) []string { return edgeNames(cmd, plural) }
}

// completeDeployIDs completes deploy ids ("app.<time>.<rand>"): first the
// app names followed by a dot, then the app's recent deploys.
func completeDeployIDs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	app, _, hasDot := strings.Cut(toComplete, ".")
	if !hasDot {
		var out []string
		for _, a := range filterPrefix(appNames(cmd), toComplete) {
			out = append(out, a+".")
		}
		return out, noFiles | cobra.ShellCompDirectiveNoSpace
	}
	ids := fetchNames(cmd, fmt.Sprintf("%s/deploys?limit=20", appPath(app)), func(out struct {
		Deploys []plan.Summary `json:"deploys"`
	}) []string {
		var n []string
		for _, d := range out.Deploys {
			n = append(n, d.ID)
		}
		return n
	})
	return filterPrefix(ids, toComplete), noFiles
}

// completeRooms completes a room name: the rooms of the edge config's
// service instances and room policies.
func completeRooms(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	rooms := fetchNames(cmd, "/api/v1/gateway/config", func(out config.Edge) []string {
		var n []string
		for _, s := range out.Services {
			for _, in := range s.Instances {
				n = append(n, in.Room)
			}
			if s.Rooms != nil {
				for r := range s.Rooms.Weights {
					n = append(n, r)
				}
			}
		}
		return n
	})
	return filterPrefix(rooms, toComplete), noFiles
}

// completeContexts completes the names of saved contexts.
func completeContexts(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	_, cfg, err := loadConfig()
	if err != nil {
		return nil, noFiles
	}
	return filterPrefix(cfg.Names(), toComplete), noFiles
}

// completeContextArg completes a context name as the first argument.
func completeContextArg(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	return completeContexts(cmd, args, toComplete)
}

// registerCompletions attaches the dynamic completions to the command tree
// by command path, so the commands' own files stay about what they do.
func registerCompletions(root *cobra.Command) {
	args := map[string]completer{
		"wharf deploy":             positional(argApps, argVersions),
		"wharf deploys":            positional(argApps),
		"wharf rollback":           positional(argApps),
		"wharf deploy status":      completeDeployIDs,
		"wharf deploy pause":       completeDeployIDs,
		"wharf deploy resume":      completeDeployIDs,
		"wharf deploy abort":       completeDeployIDs,
		"wharf artifacts list":     positional(argApps),
		"wharf artifacts show":     positional(argApps, argVersions),
		"wharf artifacts download": positional(argApps, argVersions),
		"wharf artifacts delete":   positional(argApps, argVersions),
		"wharf route show":         positional(argEdge("routes")),
		"wharf route put":          positional(argEdge("routes")),
		"wharf route delete":       positional(argEdge("routes")),
		"wharf service show":       positional(argEdge("services")),
		"wharf service put":        positional(argEdge("services")),
		"wharf service delete":     positional(argEdge("services")),
		"wharf limit show":         positional(argEdge("limits")),
		"wharf limit put":          positional(argEdge("limits")),
		"wharf limit delete":       positional(argEdge("limits")),
		"wharf room show":          positional(argEdge("services")),
		"wharf room policy":        positional(argEdge("services")),
		"wharf room switch":        positional(argEdge("services")),
		"wharf room weights":       positional(argEdge("services")),
		"wharf room pause":         positional(argEdge("services")),
		"wharf room resume":        positional(argEdge("services")),
		"wharf room abort":         positional(argEdge("services")),
		"wharf room history":       positional(argEdge("services")),
		"wharf alarms show":        positional(argCases("")),
		"wharf alarms ack":         positional(argCases("firing")),
		"wharf silence expire":     completeAll(argSilences),
	}
	flags := map[string]map[string]completer{
		"wharf room switch": {"to": completeRooms},
		"wharf deploy":      {"rooms": completeRooms},
		"wharf push": {"app": func(cmd *cobra.Command, _ []string, p string) ([]string, cobra.ShellCompDirective) {
			return filterPrefix(appNames(cmd), p), noFiles
		}},
		"wharf rollback": {"to": func(cmd *cobra.Command, args []string, p string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return nil, noFiles
			}
			return filterPrefix(versionNames(cmd, args[0]), p), noFiles
		}},
	}
	walk(root, func(c *cobra.Command) {
		if fn, ok := args[c.CommandPath()]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = fn
		}
		for name, fn := range flags[c.CommandPath()] {
			_ = c.RegisterFlagCompletionFunc(name, fn)
		}
	})
}

// walk calls fn for c and every command under it.
func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}
