package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/internal/config"
)

// show prints one object: JSON with -o json, else a key-value view of
// what is set in it (cliout.Flatten).
func (f *clientFlags) show(w io.Writer, v any) error {
	if f.json() {
		return cliout.WriteJSON(w, v)
	}
	kv, err := cliout.Flatten(v, time.Now())
	if err != nil {
		return err
	}
	return kv.Write(w)
}

// edgeRows is the table of a `route|service|limit list`: the columns a
// person wants for each kind. Built-in routes are listed too, marked.
func edgeRows(plural string, raw json.RawMessage) (*cliout.Rows, error) {
	switch plural {
	case "routes":
		var rs []config.RouteConfig
		if err := json.Unmarshal(raw, &rs); err != nil {
			return nil, fmt.Errorf("cannot decode the routes: %w", err)
		}
		rows := cliout.NewRows("NAME", "HOST", "PATH", "METHODS", "TARGET", "LIMITS", "BUILTIN")
		add := func(r config.RouteConfig, builtin string) {
			target := "service " + r.Service
			if r.Service == "" {
				target = "function " + r.Function
			}
			host := r.Host
			if host == "" {
				host = "*"
			}
			rows.Add(r.Name, host, r.Path, strings.Join(r.Methods, ","), target, strings.Join(r.Limits, ","), builtin)
		}
		for _, r := range rs {
			add(r, "")
		}
		for _, r := range config.ActiveBuiltinRoutes(rs) {
			add(r, "yes")
		}
		return rows, nil
	case "services":
		var ss []config.ServiceConfig
		if err := json.Unmarshal(raw, &ss); err != nil {
			return nil, fmt.Errorf("cannot decode the services: %w", err)
		}
		rows := cliout.NewRows("NAME", "TEAM", "INSTANCES", "ROOMS", "HEALTH CHECK")
		for _, s := range ss {
			var addrs []string
			rooms := map[string]bool{}
			for _, in := range s.Instances {
				addrs = append(addrs, in.Addr)
				if in.Room != "" {
					rooms[in.Room] = true
				}
			}
			health := ""
			if s.Health != nil {
				health = fmt.Sprintf("GET %s every %s", s.Health.Path, time.Duration(s.Health.Interval))
			}
			rows.Add(s.Name, s.Team, strings.Join(addrs, ","), strings.Join(cliout.SortedKeys(rooms), ","), health)
		}
		return rows, nil
	default:
		var ls []config.LimitConfig
		if err := json.Unmarshal(raw, &ls); err != nil {
			return nil, fmt.Errorf("cannot decode the limits: %w", err)
		}
		rows := cliout.NewRows("NAME", "KEY", "RATE", "BURST", "CONN", "MODE")
		for _, l := range ls {
			mode := "delay"
			switch {
			case l.DryRun:
				mode = "dry run"
			case l.NoDelay:
				mode = "nodelay"
			}
			conn := ""
			if l.Conn > 0 {
				conn = fmt.Sprint(l.Conn)
			}
			rows.Add(l.Name, l.Key, l.Rate, fmt.Sprint(l.Burst), conn, mode)
		}
		return rows, nil
	}
}

// renderEdgeDoc is `wharf edge show` for people: who changed it last, then
// a table per kind (routes with the built-in ones), then the ACL.
func renderEdgeDoc(w io.Writer, d edge.Doc, now time.Time) error {
	var kv cliout.KV
	kv.Add("Version", fmt.Sprint(d.Version))
	kv.Add("Changed", fmt.Sprintf("%s by %s (%s)", cliout.Ago(d.UpdatedAt, now), d.UpdatedBy, d.Action))
	kv.Add("ACL allow", strings.Join(d.ACL.Allow, ", "))
	kv.Add("ACL deny", strings.Join(d.ACL.Deny, ", "))
	if err := kv.Write(w); err != nil {
		return err
	}
	for _, k := range []struct {
		plural string
		v      any
	}{{"routes", d.Routes}, {"services", d.Services}, {"limits", d.Limits}} {
		raw, err := json.Marshal(k.v)
		if err != nil {
			return fmt.Errorf("cannot encode the %s: %w", k.plural, err)
		}
		rows, err := edgeRows(k.plural, raw)
		if err != nil {
			return err
		}
		rows.Indent = "  "
		fmt.Fprintf(w, "\n%s%s:\n", strings.ToUpper(k.plural[:1]), k.plural[1:])
		if err := rows.Write(w, "none"); err != nil {
			return err
		}
	}
	return nil
}
