package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// leaf is one scalar option.
type leaf struct {
	path  string // YAML path, e.g. "gateway.listen"
	flag  string // e.g. "gateway-listen"
	env   string // e.g. "WHARF_GATEWAY_LISTEN"
	help  string
	index []int
	typ   reflect.Type
}

var durationType = reflect.TypeOf(time.Duration(0))

// leaves walks Options and returns every scalar option.
func leaves() []leaf {
	var out []leaf
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			path := prefix + name
			idx := append(append([]int(nil), index...), i)
			if f.Type.Kind() == reflect.Struct && f.Type != durationType {
				walk(f.Type, path+".", idx)
				continue
			}
			if !scalar(f.Type) {
				continue // lists of objects (routes, limits, services) are YAML-only
			}
			flag := strings.NewReplacer(".", "-", "_", "-").Replace(path)
			env := "WHARF_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(path))
			out = append(out, leaf{path: path, flag: flag, env: env, help: f.Tag.Get("help"), index: idx, typ: f.Type})
		}
	}
	walk(reflect.TypeOf(Options{}), "", nil)
	return out
}

// scalar reports whether a field can be set from one flag or env value.
func scalar(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Int, reflect.Int64, reflect.Bool:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	return false
}

// set parses s into the field.
func set(v reflect.Value, s string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a duration like 10s or 1m30s, got %q", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("want an integer, got %q", s)
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var items []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported option type %s", v.Type())
	}
	return nil
}

// format renders a field's value the way a user would type it.
func format(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.Slice:
		return strings.Join(v.Interface().([]string), ",")
	default:
		return fmt.Sprint(v.Interface())
	}
}

// flagValue is a pflag.Value that only records what was typed; Load applies it
// last so flags win over env and file.
type flagValue struct {
	l   leaf
	def string
	raw string
}

func (f *flagValue) String() string { return f.def }
func (f *flagValue) Set(s string) error {
	probe := reflect.New(f.l.typ).Elem()
	if err := set(probe, s); err != nil {
		return err
	}
	f.raw = s
	return nil
}
func (f *flagValue) Type() string {
	switch {
	case f.l.typ == durationType:
		return "duration"
	case f.l.typ.Kind() == reflect.Slice:
		return "list"
	default:
		return f.l.typ.Kind().String()
	}
}

// IsBoolFlag lets `--minio-secure` stand for `--minio-secure=true`.
func (f *flagValue) IsBoolFlag() bool { return f.l.typ.Kind() == reflect.Bool }

// Loader binds options to a command's flags and loads them.
type Loader struct {
	fs       *pflag.FlagSet
	values   []*flagValue
	cfgFile  *string
	defaults Options
	file     string
}

// File returns the config file the last Load read ("" when none).
func (l *Loader) File() string { return l.file }

// Bind registers --config and one flag per option whose top-level YAML key is
// in groups (all options when groups is empty) on fs.
func Bind(fs *pflag.FlagSet, groups ...string) *Loader {
	l := &Loader{fs: fs, defaults: Defaults()}
	l.cfgFile = fs.String("config", "", "YAML configuration file (env WHARF_CONFIG)")
	dv := reflect.ValueOf(l.defaults)
	for _, lf := range leaves() {
		if len(groups) > 0 && !inGroups(lf.path, groups) {
			continue
		}
		fv := &flagValue{l: lf, def: format(dv.FieldByIndex(lf.index))}
		l.values = append(l.values, fv)
		fs.Var(fv, lf.flag, fmt.Sprintf("%s (env %s)", lf.help, lf.env))
		if fv.IsBoolFlag() {
			fs.Lookup(lf.flag).NoOptDefVal = "true"
		}
	}
	return l
}

func inGroups(path string, groups []string) bool {
	top := strings.SplitN(path, ".", 2)[0]
	for _, g := range groups {
		if g == top {
			return true
		}
	}
	return false
}

// Load builds Options: defaults, then the YAML file, then WHARF_* from environ,
// then the flags that were set.
func (l *Loader) Load(environ []string) (Options, error) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "WHARF_") {
			env[k] = v
		}
	}
	opts := l.defaults
	file := *l.cfgFile
	if file == "" {
		file = env["WHARF_CONFIG"]
	}
	l.file = file
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return Options{}, fmt.Errorf("cannot read config file: %w", err)
		}
		if err := decodeYAML(b, &opts); err != nil {
			return Options{}, fmt.Errorf("config file %s: %w", file, err)
		}
	}
	ov := reflect.ValueOf(&opts).Elem()
	for _, lf := range leaves() {
		if s, ok := env[lf.env]; ok {
			if err := set(ov.FieldByIndex(lf.index), s); err != nil {
				return Options{}, fmt.Errorf("env %s: %w", lf.env, err)
			}
		}
	}
	for _, fv := range l.values {
		if f := l.fs.Lookup(fv.l.flag); f != nil && f.Changed {
			if err := set(ov.FieldByIndex(fv.l.index), fv.raw); err != nil {
				return Options{}, fmt.Errorf("flag --%s: %w", fv.l.flag, err)
			}
		}
	}
	return opts, opts.Validate()
}

// decodeYAML decodes strictly: an unknown key is an error naming its full
// path and line; a value of the wrong type names its line too.
func decodeYAML(b []byte, opts *Options) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	root := doc.Content[0]
	if err := checkKeys(root, reflect.TypeOf(*opts), ""); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(opts); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// checkKeys walks a YAML mapping against a struct type and reports the first unknown key.
func checkKeys(n *yaml.Node, t reflect.Type, prefix string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && t != durationType:
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return fmt.Errorf("line %d: %s must be a mapping", n.Line, strings.TrimSuffix(prefix, "."))
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			fields[strings.Split(f.Tag.Get("yaml"), ",")[0]] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				return fmt.Errorf("line %d: unknown key %q", k.Line, prefix+k.Value)
			}
			if err := checkKeys(v, ft, prefix+k.Value+"."); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			if err := checkKeys(item, t.Elem(), fmt.Sprintf("%s%d.", prefix, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
