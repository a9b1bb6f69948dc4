// Command loadgen is the load generator of bench/alarms/run.sh: it posts
// the same Prometheus-style alerts through Alertmanager's API v2
// (POST /api/v2/alerts) to an Alertmanager HA pair (to both peers, as
// Prometheus does) and to Wharf's gateway, runs the webhook receiver both
// deliver to (failing a fraction of its calls with 500), and counts per
// alert and status what arrived: duplicates, losses and the time from post
// to delivery.
//
//	loadgen setup -wharf URL -token-file F -hook URL (receiver and route)
//	loadgen run   -systems am,wharf -rounds 3 ... (the rounds and the report)
//
// It imports no Wharf package: Alertmanager's API v2, its webhook payload
// version 4 and Wharf's receiver and route API (docs/monitoring-alarms*.md)
// are the public contracts.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: loadgen setup|run [flags]")
	}
	switch args[0] {
	case "setup":
		return setupCmd(args[1:])
	case "run":
		return runCmd(args[1:])
	default:
		return fmt.Errorf("unknown command %q (want setup or run)", args[0])
	}
}
