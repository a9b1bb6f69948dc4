package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/wharfhq/wharf/internal/config"
)

// validName reports whether s is 1 to max bytes, starts with a lowercase
// letter and goes on with lowercase letters, digits and the bytes in extra.
func validName(s string, max int, extra string) bool {
	if s == "" || len(s) > max || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// validApp: a-z 0-9 '-', at most 63, starting with a letter.
func validApp(s string) bool { return validName(s, 63, "-") }

// validProcess: a-z 0-9 '_' '-', at most 32, starting with a letter.
func validProcess(s string) bool { return validName(s, 32, "_-") }

// validEnv: [A-Za-z_][A-Za-z0-9_]*, at most 256.
func validEnv(s string) bool {
	if s == "" || len(s) > 256 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Parse decodes and validates a manifest strictly: unknown keys, duplicate
// keys, wrong types, empty commands, bad durations and out-of-range values
// are all reported, each with its line and field path, in one
// *ManifestError. Defaults are filled in.
func Parse(data []byte) (*Manifest, error) {
	p := &parser{}
	m := p.parse(data)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *FieldError) int { return a.Line - b.Line })
		return nil, &ManifestError{Problems: p.errs}
	}
	return m, nil
}

type parser struct {
	errs []*FieldError
}

func (p *parser) fail(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &FieldError{Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) parse(data []byte) *Manifest {
	if len(data) > MaxManifestSize {
		p.fail(nil, "", "manifest is larger than %d bytes", MaxManifestSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.fail(nil, "", "manifest is empty")
		} else {
			p.fail(nil, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		p.fail(&extra, "", "only one YAML document is allowed")
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	m := &Manifest{
		Instances:  DefaultInstances,
		StopSignal: DefaultStopSignal,
		StopGrace:  config.Duration(DefaultStopGrace),
	}
	seen := p.mapping(root, "", func(key string, k, v *yaml.Node) {
		switch key {
		case "app":
			m.App, _ = p.str(v, "app")
		case "processes":
			m.Processes = p.processes(v)
		case "health":
			m.Health = p.health(v)
		case "env":
			m.Env = p.env(v)
		case "hooks":
			m.Hooks = p.hooks(v)
		case "config":
			m.Config = p.config(v)
		case "instances":
			m.Instances = p.instances(v)
		case "stop_signal":
			m.StopSignal = p.signal(v)
		case "stop_grace":
			m.StopGrace = p.duration(v, "stop_grace", 0, MaxStopGrace, DefaultStopGrace)
		default:
			p.fail(k, key, "unknown key")
		}
	})
	if seen == nil {
		return m
	}
	if seen["app"] == nil {
		p.fail(root, "app", "required")
	} else if m.App != "" && !validApp(m.App) {
		p.fail(seen["app"], "app", "%q is not a valid app name (a-z, 0-9 and '-', at most 63, starting with a letter)", m.App)
	}
	if seen["processes"] == nil {
		p.fail(root, "processes", "required: at least one process, e.g. web: ./server --port $PORT")
	}
	if _, web := m.Processes["web"]; m.Health != nil && len(m.Processes) > 0 && !web {
		p.fail(seen["health"], "health", "needs a process named web")
	}
	return m
}

// mapping walks a mapping node, rejecting duplicate and non-string keys and
// aliases, and returns each key's key node.
func (p *parser) mapping(n *yaml.Node, field string, each func(key string, k, v *yaml.Node)) map[string]*yaml.Node {
	if isNull(n) && field != "" {
		return nil // "env:" with nothing: as if absent
	}
	if n.Kind != yaml.MappingNode {
		p.fail(n, field, "want a mapping, got %s", kind(n))
		return nil
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := join(field, k.Value)
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			p.fail(k, field, "keys must be plain strings")
			continue
		}
		if prev := seen[k.Value]; prev != nil {
			p.fail(k, path, "duplicate key (first at line %d)", prev.Line)
			continue
		}
		seen[k.Value] = k
		if v.Kind == yaml.AliasNode || v.Anchor != "" {
			p.fail(v, path, "YAML anchors and aliases are not allowed")
			continue
		}
		each(k.Value, k, v)
	}
	return seen
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

// str reads a string scalar.
func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.fail(n, field, "want a string, got %s", kind(n))
		return "", false
	}
	return n.Value, true
}

// command reads a non-empty command line.
func (p *parser) command(n *yaml.Node, field string) string {
	if isNull(n) {
		p.fail(n, field, "empty command")
		return ""
	}
	s, ok := p.str(n, field)
	switch {
	case !ok:
	case strings.TrimSpace(s) == "":
		p.fail(n, field, "empty command")
	case len(s) > MaxCommandLen:
		p.fail(n, field, "command longer than %d bytes", MaxCommandLen)
	case strings.ContainsRune(s, 0):
		p.fail(n, field, "command contains a NUL byte")
	default:
		return s
	}
	return ""
}

func (p *parser) processes(n *yaml.Node) map[string]string {
	out := map[string]string{}
	p.mapping(n, "processes", func(name string, k, v *yaml.Node) {
		field := "processes." + name
		if !validProcess(name) {
			p.fail(k, field, "%q is not a valid process name (a-z, 0-9, '_' and '-', at most 32, starting with a letter)", name)
			return
		}
		out[name] = p.command(v, field)
	})
	if isNull(n) || n.Kind == yaml.MappingNode && len(n.Content) == 0 {
		p.fail(n, "processes", "at least one process is required")
	}
	return out
}

func (p *parser) health(n *yaml.Node) *Health {
	if isNull(n) {
		return nil
	}
	h := &Health{Timeout: config.Duration(DefaultHealthTimeout)}
	seen := p.mapping(n, "health", func(key string, k, v *yaml.Node) {
		switch key {
		case "path":
			s, ok := p.str(v, "health.path")
			switch {
			case !ok:
			case !strings.HasPrefix(s, "/"):
				p.fail(v, "health.path", "%q must start with /", s)
			case len(s) > 1024 || strings.ContainsAny(s, " \t\r\n\x00"):
				p.fail(v, "health.path", "%q is not a valid URL path", s)
			default:
				h.Path = s
			}
		case "timeout":
			h.Timeout = p.duration(v, "health.timeout", time.Millisecond, MaxHealthTimeout, DefaultHealthTimeout)
		default:
			p.fail(k, "health."+key, "unknown key")
		}
	})
	if seen != nil && seen["path"] == nil {
		p.fail(n, "health.path", "required")
	}
	return h
}

func (p *parser) env(n *yaml.Node) map[string]string {
	out := map[string]string{}
	p.mapping(n, "env", func(name string, k, v *yaml.Node) {
		field := "env." + name
		switch {
		case !validEnv(name):
			p.fail(k, field, "%q is not a valid variable name", name)
		case name == "PORT":
			p.fail(k, field, "PORT is set by Wharf for each instance")
		case v.Kind != yaml.ScalarNode || isNull(v):
			p.fail(v, field, "want a value (string, number or boolean), got %s", kind(v))
		case strings.ContainsRune(v.Value, 0):
			p.fail(v, field, "value contains a NUL byte")
		default:
			out[name] = v.Value
		}
	})
	return out
}

func (p *parser) hooks(n *yaml.Node) Hooks {
	var h Hooks
	p.mapping(n, "hooks", func(key string, k, v *yaml.Node) {
		switch key {
		case "pre_start":
			h.PreStart = p.command(v, "hooks.pre_start")
		case "post_start":
			h.PostStart = p.command(v, "hooks.post_start")
		case "config_reload":
			h.ConfigReload = p.command(v, "hooks.config_reload")
		default:
			p.fail(k, "hooks."+key, "unknown key")
		}
	})
	return h
}

// validConfigName: Apollo's cluster and namespace names, [A-Za-z0-9_.-],
// 1 to MaxConfigNameLen bytes, and never "." or ".." (they name files).
func validConfigName(s string) bool {
	if s == "" || len(s) > MaxConfigNameLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func (p *parser) config(n *yaml.Node) ConfigSpec {
	var c ConfigSpec
	p.mapping(n, "config", func(key string, k, v *yaml.Node) {
		switch key {
		case "cluster":
			if s, ok := p.str(v, "config.cluster"); ok && !validConfigName(s) {
				p.fail(v, "config.cluster", "%q is not a valid cluster name (A-Z, a-z, 0-9, '_', '.' and '-', at most %d)", s, MaxConfigNameLen)
			} else {
				c.Cluster = s
			}
		case "namespaces":
			c.Namespaces = p.namespaces(v)
		case "reload_signal":
			c.ReloadSignal = p.signalField(v, "config.reload_signal")
		default:
			p.fail(k, "config."+key, "unknown key")
		}
	})
	return c
}

func (p *parser) namespaces(n *yaml.Node) []string {
	if n.Kind != yaml.SequenceNode {
		p.fail(n, "config.namespaces", "want a list of namespace names, got %s", kind(n))
		return nil
	}
	if len(n.Content) > MaxConfigNamespaces {
		p.fail(n, "config.namespaces", "%d namespaces, at most %d", len(n.Content), MaxConfigNamespaces)
		return nil
	}
	var out []string
	for i, v := range n.Content {
		field := fmt.Sprintf("config.namespaces[%d]", i)
		s, ok := p.str(v, field)
		switch {
		case !ok:
		case !validConfigName(s):
			p.fail(v, field, "%q is not a valid namespace name (A-Z, a-z, 0-9, '_', '.' and '-', at most %d)", s, MaxConfigNameLen)
		case slices.Contains(out, s):
			p.fail(v, field, "%q is listed twice", s)
		default:
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) instances(n *yaml.Node) int {
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		p.fail(n, "instances", "want a whole number, got %s", kind(n))
		return DefaultInstances
	}
	if v < 1 || v > MaxInstances {
		p.fail(n, "instances", "%d is outside 1 to %d", v, MaxInstances)
		return DefaultInstances
	}
	return v
}

func (p *parser) signal(n *yaml.Node) string { return p.signalField(n, "stop_signal") }

// signalField reads a signal name into its canonical form.
func (p *parser) signalField(n *yaml.Node, field string) string {
	s, ok := p.str(n, field)
	if !ok {
		return DefaultStopSignal
	}
	c := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(c, "SIG") {
		c = "SIG" + c
	}
	if !slices.Contains(StopSignals(), c) {
		p.fail(n, field, "%q is not one of %s", s, strings.Join(StopSignals(), ", "))
		return DefaultStopSignal
	}
	return c
}

func (p *parser) duration(n *yaml.Node, field string, lo, hi, def time.Duration) config.Duration {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.fail(n, field, "want a duration like 10s or 1m30s, got %s", kind(n))
		return config.Duration(def)
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		p.fail(n, field, "want a duration like 10s or 1m30s, got %q", n.Value)
		return config.Duration(def)
	}
	if d < lo || d > hi {
		p.fail(n, field, "%v is outside %v to %v", d, lo, hi)
		return config.Duration(def)
	}
	return config.Duration(d)
}
