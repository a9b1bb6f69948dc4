package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// setupCmd creates, with an admin token, the webhook receiver "bench" of
// the _global team (posted alerts without a team label belong to it) and
// its route tree: every alert its own group (group_by ["..."]), the same
// group_wait, group_interval and repeat_interval as Alertmanager's config.
func setupCmd(args []string) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	base := fs.String("wharf", "", "Wharf gateway base URL")
	tokFile := fs.String("token-file", "", "file with an admin token")
	hook := fs.String("hook", "", "the receiver's URL")
	groupBy := fs.String("group-by", "...", "the route's group_by, comma-separated")
	wait := fs.String("group-wait", "1s", "group_wait")
	interval := fs.String("group-interval", "2s", "group_interval")
	repeat := fs.String("repeat-interval", "1h", "repeat_interval")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tok, err := readToken(*tokFile)
	if err != nil {
		return err
	}
	rcv := map[string]any{"kind": "webhook", "url": *hook, "timeout": "5s", "send_resolved": true}
	if err := call(http.MethodPut, *base+"/api/v1/receivers/_global/bench", tok, rcv); err != nil {
		return fmt.Errorf("cannot create the receiver: %w", err)
	}
	route := map[string]any{"receiver": "bench", "group_by": strings.Split(*groupBy, ","),
		"group_wait": *wait, "group_interval": *interval, "repeat_interval": *repeat}
	if err := call(http.MethodPut, *base+"/api/v1/routes/_global?version=0&comment=bench", tok, route); err != nil {
		return fmt.Errorf("cannot write the route tree: %w", err)
	}
	return nil
}

func call(method, url, tok string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("cannot encode the body: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("cannot make the request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot call %s %s: %w", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("no token in %s", path)
	}
	return tok, nil
}
