// Package bundle is Wharf's artifact bundle format: a directory packed as a
// tar stream compressed with gzip or zstd (told apart by magic bytes), with
// a manifest, wharf.yaml, at its root. It parses and validates manifests,
// packs directories (honouring .wharfignore), and finds the manifest in a
// bundle stream without unpacking it. Safe extraction is package unpack.
package bundle

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/config"
)

// ManifestName is the manifest's file name at the bundle's root.
const ManifestName = "wharf.yaml"

// MaxManifestSize is the largest manifest accepted, in bytes.
const MaxManifestSize = 64 << 10

// Manifest is a bundle's wharf.yaml. Every key is optional unless marked
// required; unknown keys are errors. An example with every field:
//
//	app: shop                          # required: a-z 0-9 and '-', at most 63, starts with a letter
//	processes:                         # required: at least one; name → command line
//	  web: ./server --port $PORT       #   names: a-z 0-9 '_' '-', at most 32, start with a letter
//	  mailer: ./worker --queue mail
//	health:                            # HTTP check of the web process (needs one named "web")
//	  path: /healthz                   #   required within health: starts with "/"
//	  timeout: 2s                      #   per check; default 2s, at most 5m
//	env:                               # environment of every process and hook
//	  LOG_LEVEL: info                  #   names: [A-Za-z_][A-Za-z0-9_]*; PORT is Wharf's
//	hooks:
//	  pre_start: ./migrate             # runs before the processes start
//	  post_start: ./warm-cache         # runs once they are healthy
//	  config_reload: ./reload          # runs when a config namespace of the app changes
//	config:                            # the config namespaces the agent keeps in files
//	  cluster: default                 #   default "default"
//	  namespaces: [application, db.yaml] # default [application]; [A-Za-z0-9_.-], at most 128 bytes, 32 of them
//	  reload_signal: SIGHUP            #   sent to every process on a change (instead of or besides config_reload)
//	instances: 2                       # web instances per host; default 1, 1 to 256
//	stop_signal: SIGTERM               # SIGTERM (default), SIGINT, SIGQUIT, SIGHUP, SIGKILL, SIGUSR1, SIGUSR2
//	stop_grace: 30s                    # wait before SIGKILL; default 10s, 0s to 1h
//
// Durations are Go durations ("500ms", "1m30s"). Signals may omit "SIG" and
// be lowercase; they are stored in the canonical form above.
type Manifest struct {
	App        string            `json:"app"`
	Processes  map[string]string `json:"processes"`
	Health     *Health           `json:"health,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	Hooks      Hooks             `json:"hooks,omitzero"`
	Config     ConfigSpec        `json:"config,omitzero"`
	Instances  int               `json:"instances"`
	StopSignal string            `json:"stop_signal"`
	StopGrace  config.Duration   `json:"stop_grace"`
}

// Health is the web process's health check.
type Health struct {
	Path    string          `json:"path"`
	Timeout config.Duration `json:"timeout"`
}

// Hooks are commands run around a start.
type Hooks struct {
	PreStart  string `json:"pre_start,omitempty"`
	PostStart string `json:"post_start,omitempty"`
	// ConfigReload runs after the deploy agent rewrote a changed config
	// namespace's file.
	ConfigReload string `json:"config_reload,omitempty"`
}

// ConfigSpec is the config the deploy agent keeps for the app in files
// (see runner/agent): its cluster and namespaces, and the signal its
// processes get when one changes.
type ConfigSpec struct {
	Cluster      string   `json:"cluster,omitempty"`
	Namespaces   []string `json:"namespaces,omitempty"`
	ReloadSignal string   `json:"reload_signal,omitempty"`
}

// Defaults and limits of ConfigSpec.
const (
	DefaultConfigCluster   = "default"
	DefaultConfigNamespace = "application"
	MaxConfigNamespaces    = 32
	MaxConfigNameLen       = 128
)

// ConfigCluster is the app's config cluster (default "default").
func (m *Manifest) ConfigCluster() string {
	if m.Config.Cluster == "" {
		return DefaultConfigCluster
	}
	return m.Config.Cluster
}

// ConfigNamespaces are the app's config namespaces (default [application]).
func (m *Manifest) ConfigNamespaces() []string {
	if len(m.Config.Namespaces) == 0 {
		return []string{DefaultConfigNamespace}
	}
	return m.Config.Namespaces
}

// Defaults applied by Parse.
const (
	DefaultHealthTimeout = 2 * time.Second
	DefaultInstances     = 1
	DefaultStopSignal    = "SIGTERM"
	DefaultStopGrace     = 10 * time.Second
)

// Limits checked by Parse.
const (
	MaxInstances     = 256
	MaxHealthTimeout = 5 * time.Minute
	MaxStopGrace     = time.Hour
	MaxCommandLen    = 4096
)

// StopSignals returns the signal names stop_signal accepts, canonical form.
func StopSignals() []string {
	return []string{"SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGKILL", "SIGUSR1", "SIGUSR2"}
}

// FieldError is one problem in a manifest, at a line (0 when unknown) and a
// field path such as "processes.web" or "health.timeout".
type FieldError struct {
	Line  int
	Field string
	Msg   string
}

// Error renders "line 4: processes.web: empty command".
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ManifestError lists every problem Parse found, in document order.
type ManifestError struct {
	Problems []*FieldError
}

// Error renders every problem, separated by "; ".
func (e *ManifestError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	return "invalid " + ManifestName + ": " + strings.Join(parts, "; ")
}

// Field returns the first problem with the field path, or nil.
func (e *ManifestError) Field(field string) *FieldError {
	for _, p := range e.Problems {
		if p.Field == field {
			return p
		}
	}
	return nil
}

// IsManifestError reports whether err comes from an invalid or missing
// manifest (the bundle's author's fault: HTTP 400).
func IsManifestError(err error) bool {
	var me *ManifestError
	return errors.As(err, &me)
}
