package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/cidr"
	"github.com/wharfhq/wharf/internal/ident"
)

// FieldError names the option that is wrong, e.g. "limits[0].burst".
type FieldError struct {
	Field string
	Msg   string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks the lists in an ACL; field is its path, e.g. "gateway.acl".
func (a ACLConfig) Validate(field string) error {
	var errs []error
	for name, list := range map[string][]string{"allow": a.Allow, "deny": a.Deny} {
		for i, c := range list {
			if _, err := cidr.Parse(c); err != nil {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.%s[%d]", field, name, i), "%v", err))
			}
		}
	}
	return errors.Join(errs...)
}

// validToken reports whether s is an HTTP token (header names, methods).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Validate checks one limit on its own; field is its path, e.g. "limits[0]".
// The rate's syntax is checked by the gateway's limiter when it compiles.
func (l LimitConfig) Validate(field string) error {
	var errs []error
	bad := func(sub, format string, args ...any) { errs = append(errs, fieldErr(field+"."+sub, format, args...)) }
	if !ident.Name(l.Name) {
		bad("name", "must be 1-63 of a-z, 0-9, '-', '_', got %q", l.Name)
	}
	switch {
	case l.Key == "ip", l.Key == "route", l.Key == "ip+route":
	case strings.HasPrefix(l.Key, "header:") && validToken(strings.TrimPrefix(l.Key, "header:")):
	default:
		bad("key", "must be ip, route, ip+route or header:<Name>, got %q", l.Key)
	}
	switch {
	case l.Conn < 0:
		bad("conn", "must not be negative, got %d", l.Conn)
	case l.Conn > 0 && strings.TrimSpace(l.Rate) != "":
		bad("conn", "a limit has either rate (limit_req) or conn (limit_conn), not both")
	case l.Conn > 0 && (l.Burst != 0 || l.Delay != 0 || l.NoDelay):
		bad("conn", "burst, delay and nodelay apply to rate limits only")
	case l.Conn == 0 && strings.TrimSpace(l.Rate) == "":
		bad("rate", "is required, e.g. 10r/s or 600r/m (or set conn for a concurrency limit)")
	}
	if l.Burst < 0 {
		bad("burst", "must not be negative, got %d", l.Burst)
	}
	if l.Delay < 0 {
		bad("delay", "must not be negative, got %d", l.Delay)
	}
	if l.NoDelay && l.Delay > 0 {
		bad("delay", "cannot be set together with nodelay")
	}
	if l.Status != 0 && (l.Status < 400 || l.Status > 599) {
		bad("status", "must be between 400 and 599, got %d", l.Status)
	}
	return errors.Join(errs...)
}

// Validate checks one service; field is its path, e.g. "services[0]".
func (s ServiceConfig) Validate(field string) error {
	var errs []error
	if !ident.Name(s.Name) {
		errs = append(errs, fieldErr(field+".name", "must be 1-63 of a-z, 0-9, '-', '_', got %q", s.Name))
	}
	if s.Team != "" && !ident.Name(s.Team) {
		errs = append(errs, fieldErr(field+".team", "must be a team name, 1-63 of a-z, 0-9, '-', '_', got %q", s.Team))
	}
	if s.Pipeline < 0 || s.Pipeline > 64 {
		errs = append(errs, fieldErr(field+".pipeline", "must be between 0 (off) and 64 connections, got %d", s.Pipeline))
	}
	if h := s.Health; h != nil {
		if !strings.HasPrefix(h.Path, "/") || !ident.Printable(h.Path) || strings.Contains(h.Path, " ") {
			errs = append(errs, fieldErr(field+".health.path", "must start with / and hold no spaces or control characters, got %q", h.Path))
		}
		if h.Interval < 0 || h.Timeout < 0 || h.Healthy < 0 || h.Unhealthy < 0 {
			errs = append(errs, fieldErr(field+".health", "interval, timeout, healthy and unhealthy must not be negative"))
		}
		if h.Interval > 0 && h.Interval.D() < 100*time.Millisecond {
			errs = append(errs, fieldErr(field+".health.interval", "must be at least 100ms, got %s", h.Interval))
		}
	}
	for i, in := range s.Instances {
		f := fmt.Sprintf("%s.instances[%d]", field, i)
		if host, port, err := net.SplitHostPort(in.Addr); err != nil || !validPort(port) || host == "" || !ident.Printable(host) || strings.ContainsAny(host, " /") {
			errs = append(errs, fieldErr(f+".addr", "must be host:port, got %q", in.Addr))
		}
		if in.Weight < 0 {
			errs = append(errs, fieldErr(f+".weight", "must not be negative, got %d", in.Weight))
		}
		if in.Room != "" && !ident.Name(in.Room) {
			errs = append(errs, fieldErr(f+".room", "must be 1-63 of a-z, 0-9, '-', '_', got %q", in.Room))
		}
	}
	return errors.Join(errs...)
}

// Validate checks one route on its own; field is its path, e.g. "routes[0]".
// References to limits and services are checked by ValidateEdge.
func (r RouteConfig) Validate(field string) error {
	var errs []error
	bad := func(sub, format string, args ...any) { errs = append(errs, fieldErr(field+"."+sub, format, args...)) }
	if !ident.Name(r.Name) {
		bad("name", "must be 1-63 of a-z, 0-9, '-', '_', got %q", r.Name)
	}
	switch {
	case !strings.HasPrefix(r.Path, "/"):
		bad("path", "must start with /, got %q", r.Path)
	case !ident.Printable(r.Path) || strings.ContainsAny(r.Path, " ?#"):
		bad("path", "must not hold spaces, '?', '#' or control characters, got %q", r.Path)
	case !r.ShadowBuiltin:
		if b := ShadowedBuiltin(r); b != "" {
			bad("path", "shadows the built-in %s (Wharf's API, functions, artifact uploads and console live there); "+
				"use another path, or set shadow_builtin: true if this route is meant to take %s over", b, r.Path)
		}
	}
	if h := r.Host; h != "" {
		rest := strings.TrimPrefix(h, "*.")
		if strings.ContainsAny(rest, "*/ :") || rest == "" || !ident.Printable(rest) {
			bad("host", "must be a host name or *.domain, got %q", h)
		}
	}
	for i, m := range r.Methods {
		if !validToken(m) || strings.ToUpper(m) != m {
			bad(fmt.Sprintf("methods[%d]", i), "must be an upper-case HTTP method, got %q", m)
		}
	}
	if (r.Service == "") == (r.Function == "") {
		bad("service", "exactly one of service and function must be set")
	}
	errs = append(errs, r.validateRewrite(field)...)
	if r.MaxBody < 0 {
		bad("max_body_bytes", "must not be negative, got %d", r.MaxBody)
	}
	if err := r.ACL.Validate(field + ".acl"); err != nil {
		errs = append(errs, err)
	}
	for name, d := range map[string]int64{"connect": int64(r.Timeouts.Connect), "response": int64(r.Timeouts.Response), "idle": int64(r.Timeouts.Idle)} {
		if d < 0 {
			bad("timeouts."+name, "must not be negative")
		}
	}
	if ab := r.AutoBan; ab != nil {
		if ab.After <= 0 {
			bad("auto_ban.after", "must be positive, got %d", ab.After)
		}
		if ab.Within <= 0 {
			bad("auto_ban.within", "must be a positive duration")
		}
		if ab.For <= 0 {
			bad("auto_ban.for", "must be a positive duration")
		}
	}
	return errors.Join(errs...)
}

// Edge is the gateway's declarative edge config — global ACL, limits,
// services and routes — as the YAML file gives it and the admin API serves it.
type Edge struct {
	ACL      ACLConfig       `json:"acl"`
	Limits   []LimitConfig   `json:"limits"`
	Services []ServiceConfig `json:"services"`
	Routes   []RouteConfig   `json:"routes"`
}

// Edge returns the edge part of o, with every unnamed route named
// "route<i>" after its position in the list.
func (o Options) Edge() Edge {
	e := Edge{
		ACL:      ACLConfig{Allow: append([]string(nil), o.Gateway.ACL.Allow...), Deny: append([]string(nil), o.Gateway.ACL.Deny...)},
		Limits:   append([]LimitConfig(nil), o.Limits...),
		Services: append([]ServiceConfig(nil), o.Services...),
		Routes:   append([]RouteConfig(nil), o.Routes...),
	}
	for i := range e.Routes {
		if e.Routes[i].Name == "" {
			e.Routes[i].Name = fmt.Sprintf("route%d", i)
		}
	}
	return e
}

// ValidateEdge checks the gateway's IPv6 prefix and the edge config (see Edge.Validate).
func (o Options) ValidateEdge() error {
	var errs []error
	if p := o.Gateway.IPv6Prefix; p < 1 || p > 128 {
		errs = append(errs, fieldErr("gateway.ipv6_prefix", "must be between 1 and 128, got %d", p))
	}
	e := o.Edge()
	if err := e.validate("gateway.acl"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Validate checks limits, services and routes together: each on its own,
// unique names, and that routes only name limits and services that exist.
func (e Edge) Validate() error { return e.validate("acl") }

func (e Edge) validate(aclField string) error {
	var errs []error
	if err := e.ACL.Validate(aclField); err != nil {
		errs = append(errs, err)
	}
	limits := map[string]bool{}
	for i, l := range e.Limits {
		f := fmt.Sprintf("limits[%d]", i)
		if err := l.Validate(f); err != nil {
			errs = append(errs, err)
		}
		if limits[l.Name] {
			errs = append(errs, fieldErr(f+".name", "duplicate limit %q", l.Name))
		}
		limits[l.Name] = true
	}
	services := map[string]bool{}
	for i, s := range e.Services {
		f := fmt.Sprintf("services[%d]", i)
		if err := s.Validate(f); err != nil {
			errs = append(errs, err)
		}
		if services[s.Name] {
			errs = append(errs, fieldErr(f+".name", "duplicate service %q", s.Name))
		}
		services[s.Name] = true
	}
	routes := map[string]bool{}
	for i, r := range e.Routes {
		f := fmt.Sprintf("routes[%d]", i)
		if err := r.Validate(f); err != nil {
			errs = append(errs, err)
		}
		if routes[r.Name] {
			errs = append(errs, fieldErr(f+".name", "duplicate route %q", r.Name))
		}
		routes[r.Name] = true
		if err := r.ValidateRefs(f, limits, services); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ValidateRefs checks that r names only limits and services that exist.
func (r RouteConfig) ValidateRefs(field string, limits, services map[string]bool) error {
	var errs []error
	if r.Service != "" && !services[r.Service] {
		errs = append(errs, fieldErr(field+".service", "unknown service %q", r.Service))
	}
	seen := map[string]bool{}
	for j, name := range r.Limits {
		if !limits[name] {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.limits[%d]", field, j), "unknown limit %q", name))
		}
		if seen[name] {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.limits[%d]", field, j), "limit %q listed twice", name))
		}
		seen[name] = true
	}
	return errors.Join(errs...)
}
