package config

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvConfigDir names the environment variable the deploy agent sets for
// the processes it supervises: the directory holding the app's cluster's
// namespace files (<agent data dir>/config/<app>/<cluster>).
const EnvConfigDir = "WHARF_CONFIG_DIR"

// FileName is the name of a namespace's file in the agent's cache:
// "application" → "application.properties", "db.yaml" → "db.yaml".
func FileName(namespace string) string {
	if Format(namespace) == "properties" && !strings.HasSuffix(namespace, ".properties") {
		return namespace + ".properties"
	}
	return namespace
}

// EncodeFile is a namespace's file content: properties text for a
// properties namespace, else its content as is.
func EncodeFile(namespace string, values map[string]string) []byte {
	if Format(namespace) == "properties" {
		return []byte(FormatProperties(values))
	}
	return []byte(values[ContentKey])
}

// DecodeFile reads a namespace's file content back into its values.
func DecodeFile(namespace string, data []byte) map[string]string {
	if Format(namespace) == "properties" {
		return ParseProperties(string(data))
	}
	return map[string]string{ContentKey: string(data)}
}

// WriteFileAtomic replaces path with data so that a reader sees the old
// file or the new one, never a part, even across a crash: it writes a
// temporary file beside it, syncs it, renames it over path and syncs the
// directory.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	return nil
}

// readAgentFile reads a namespace from the agent's cache directory.
func readAgentFile(dir, namespace string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, FileName(namespace)))
	if err != nil {
		return nil, fmt.Errorf("cannot read the agent's file: %w", err)
	}
	return DecodeFile(namespace, data), nil
}

// backupPath is a namespace's backup file, named like Apollo's
// (appId+cluster+namespace), in JSON.
func backupPath(dir, appID, cluster, namespace string) string {
	return filepath.Join(dir, messageKey(appID, cluster, namespace)+".json")
}

// readBackup reads a namespace's backup file.
func readBackup(path string) (*Release, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read backup: %w", err)
	}
	var r Release
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("cannot read backup %s: %w", path, err)
	}
	if r.Configurations == nil {
		r.Configurations = map[string]string{}
	}
	return &r, nil
}

// writeBackup writes a namespace's backup file.
func writeBackup(path string, r *Release) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("cannot encode backup: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("cannot write backup: %w", err)
	}
	return WriteFileAtomic(path, data, 0o600)
}
