package cliconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoadRoundTripWithPrivateModes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wharf", "config.yaml")
	c, err := Load(path)
	if err != nil || len(c.Contexts) != 0 {
		t.Fatalf("missing file: %+v %v", c, err)
	}
	c.Set(Context{Name: "prod", Server: "https://wharf.example.com", Token: "t1"})
	c.Set(Context{Name: "local", Server: "http://127.0.0.1:8080", Token: "t2"})
	c.Current = "prod"
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", p, st.Mode().Perm(), want, err)
		}
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cur, ok := got.CurrentContext()
	if !ok || cur.Token != "t1" || strings.Join(got.Names(), ",") != "local,prod" {
		t.Errorf("loaded %+v", got)
	}
	if !got.Remove("prod") || got.Current != "" || got.Remove("prod") {
		t.Errorf("remove: %+v", got)
	}
}

func TestLoadRefusesAFileOthersMayRead(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("contexts: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("got %v, want a refusal that says chmod 600", err)
	}
}

func TestLoadRefusesUnknownKeys(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("contexts: []\nsecret: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Fatal("an unknown key was accepted")
	}
}
