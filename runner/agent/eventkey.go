package agent

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// EventKeyFileName is the file in Options.DataDir that holds the agent's
// event-signing key (PKCS #8 PEM, mode 0600).
const EventKeyFileName = "event.key"

// parseEventKey reads an Ed25519 private key from PKCS #8 PEM.
func parseEventKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("no PRIVATE KEY PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("want an Ed25519 key, got %T", k)
	}
	return priv, nil
}

// loadEventKey returns the agent's event-signing key from dir, making it
// at the first start. The file is the agent's alone (0600: apps deployed
// on the host must not sign events); one that others could read is made
// private, with a warning. A file that holds no key is an error: a new
// key would be refused by the host's binding anyway, and an operator
// should look (releasing the host lets a new key be bound).
func loadEventKey(dir string, log *slog.Logger) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, EventKeyFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createEventKey(path, log)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the event-signing key %s: %w", path, err)
	}
	priv, err := parseEventKey(b)
	if err != nil {
		return nil, fmt.Errorf("cannot use the event-signing key %s (release the host and delete the file to make a new one): %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot check the event-signing key %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("the event-signing key %s can be read by other users and cannot be made private: %w", path, err)
		}
		log.Warn("the event-signing key file could be read by other users, deployed apps among them: made it private", "file", path, "mode", fi.Mode().Perm().String())
	}
	return priv, nil
}

// createEventKey makes a key pair and stores it at path, unless another
// start just did (then that one is used).
func createEventKey(path string, log *slog.Logger) (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("cannot make an event-signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the event-signing key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), EventKeyFileName+".*")
	if err != nil {
		return nil, fmt.Errorf("cannot store the event-signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path) // never replaces a key stored meanwhile
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		// Another start stored a key meanwhile: read that one. A name
		// that exists but cannot be read as a file (a dangling link)
		// is an error, never a loop.
		if _, rerr := os.ReadFile(path); rerr != nil {
			return nil, fmt.Errorf("cannot read the event-signing key %s: %w", path, rerr)
		}
		return loadEventKey(filepath.Dir(path), log)
	case err != nil:
		return nil, fmt.Errorf("cannot store the event-signing key %s: %w", path, err)
	}
	log.Info("made the agent's event-signing key", "file", path, "key_id", wire.KeyID(priv.Public().(ed25519.PublicKey)))
	return priv, nil
}
