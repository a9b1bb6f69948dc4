// Package cliconfig is the `wharf` CLI's credentials file: named contexts
// (a server URL and a token) and the current one, like kubectl's contexts.
// The file lives in os.UserConfigDir()/wharf/config.yaml (WHARF_CLI_CONFIG
// overrides it); its directory is 0700, the file 0600, written atomically,
// and a file that others may read is refused, since it holds tokens.
package cliconfig

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Context is one server and the token to use with it.
type Context struct {
	Name   string `yaml:"name"`
	Server string `yaml:"server"`
	Token  string `yaml:"token"`
}

// Config is the whole file.
type Config struct {
	Current  string    `yaml:"current-context,omitempty"`
	Contexts []Context `yaml:"contexts"`
}

// DefaultPath is where the file lives when WHARF_CLI_CONFIG is not set.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the user's config directory (set WHARF_CLI_CONFIG): %w", err)
	}
	return filepath.Join(dir, "wharf", "config.yaml"), nil
}

// Load reads the file at path; a missing file is an empty Config. A file
// that the group or others may read or write is refused.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s holds tokens but others may read it (mode %04o): run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	var c Config
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("cannot parse %s: %w", path, err)
	}
	return &c, nil
}

// Save writes the file atomically (a 0600 temporary file renamed over it)
// in a 0700 directory.
func (c *Config) Save(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("cannot encode the config: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// Get returns the context called name.
func (c *Config) Get(name string) (Context, bool) {
	i := c.index(name)
	if i < 0 {
		return Context{}, false
	}
	return c.Contexts[i], true
}

// CurrentContext returns the current context, if one is set and exists.
func (c *Config) CurrentContext() (Context, bool) {
	if c.Current == "" {
		return Context{}, false
	}
	return c.Get(c.Current)
}

// Set adds or replaces a context, keeping the list sorted by name.
func (c *Config) Set(ctx Context) {
	if i := c.index(ctx.Name); i >= 0 {
		c.Contexts[i] = ctx
		return
	}
	c.Contexts = append(c.Contexts, ctx)
	slices.SortFunc(c.Contexts, func(a, b Context) int { return strings.Compare(a.Name, b.Name) })
}

// Remove deletes a context (and unsets it as current); false when absent.
func (c *Config) Remove(name string) bool {
	i := c.index(name)
	if i < 0 {
		return false
	}
	c.Contexts = slices.Delete(c.Contexts, i, i+1)
	if c.Current == name {
		c.Current = ""
	}
	return true
}

// Names are the contexts' names, sorted.
func (c *Config) Names() []string {
	out := make([]string, 0, len(c.Contexts))
	for _, x := range c.Contexts {
		out = append(out, x.Name)
	}
	return out
}

func (c *Config) index(name string) int {
	return slices.IndexFunc(c.Contexts, func(x Context) bool { return x.Name == name })
}
