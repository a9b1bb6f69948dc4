package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// setup prepares a fresh `wharf serve` for the bench through its public API
// with the admin token: an ingest-scope token (written to tokenFile, mode
// 0600) and the strategies: the marker strategy, and when judgeLoad the
// load strategy, all(#3) > 1e18 on every load series, which never fires but
// makes the judge evaluate (and keep state for) every load point.
func setup(gw, adminToken, tokenFile string, judgeLoad bool) error {
	c := &fasthttp.Client{}
	code, body, err := post(c, gw+"/api/v1/tokens", adminToken, "application/json",
		[]byte(`{"name":"bench-ingest","scopes":["ingest"]}`), 10*time.Second)
	if err != nil {
		return err
	}
	if code != fasthttp.StatusCreated {
		return fmt.Errorf("cannot create the ingest token: status %d: %.300s", code, body)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.Token == "" {
		return fmt.Errorf("cannot read the ingest token from the answer (status %d)", code)
	}
	if err := os.WriteFile(tokenFile, []byte(tok.Token+"\n"), 0o600); err != nil {
		return fmt.Errorf("cannot write the ingest token: %w", err)
	}
	strategies := []string{
		`{"id":"bench-marker","team":"bench","metric":"` + markerMetric + `","endpoints":["` + markerEndpoint + `"],` +
			`"func":"all(#1)","operator":">","right_value":0,"max_step":1,"priority":0,"note":"bench marker"}`,
	}
	if judgeLoad {
		strategies = append(strategies, `{"id":"bench-load","team":"bench","metric":"`+loadMetric+`","tags":{"env":"bench"},`+
			`"func":"all(#3)","operator":">","right_value":1e18,"max_step":1,"priority":6,"note":"never fires"}`)
	}
	for _, s := range strategies {
		code, body, err := post(c, gw+"/api/v1/strategies", adminToken, "application/json", []byte(s), 10*time.Second)
		if err != nil {
			return err
		}
		if code != fasthttp.StatusCreated {
			return fmt.Errorf("cannot create a strategy: status %d: %.300s", code, body)
		}
	}
	return nil
}

// readToken reads a token file (the first line, trimmed).
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("cannot read the token: %s is empty", path)
	}
	return t, nil
}
