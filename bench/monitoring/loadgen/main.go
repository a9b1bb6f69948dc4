// Command loadgen is the load generator of bench/monitoring/run.sh: it
// pushes Falcon-format points of many series through Wharf's gateway
// (POST /v1/push with an ingest token) or the same points into
// VictoriaMetrics (POST /api/v1/import, JSON lines), for a bounded time, and
// measures what each accepted and stored, the server's peak RSS and CPU,
// and for Wharf the time from a marker point's push to its alarm event on
// the NSQ topic alarms.
//
//	loadgen setup  -gateway URL -admin-token-file F -token-out F [-judge-load]
//	loadgen round  -target wharf|vm -url URL ... (one JSON line on stdout)
//	loadgen report [-out FILE] ROUNDS.jsonl (a markdown table and the ratios)
//
// It imports no Wharf package: the push format, the alarm event schema and
// the metric names are public contracts (docs/monitoring-ingest.md,
// docs/monitoring-judge.md, docs/metrics.md).
package main

import (
	"errors"
	"flag"
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
		return errors.New("usage: loadgen setup|round|report [flags]")
	}
	switch args[0] {
	case "setup":
		fs := flag.NewFlagSet("setup", flag.ContinueOnError)
		gw := fs.String("gateway", "", "Wharf gateway base URL")
		admin := fs.String("admin-token-file", "", "file with an admin token")
		out := fs.String("token-out", "", "where to write the ingest token")
		judgeLoad := fs.Bool("judge-load", true, "also create the never-firing strategy on the load series")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		tok, err := readToken(*admin)
		if err != nil {
			return err
		}
		return setup(*gw, tok, *out, *judgeLoad)
	case "round":
		return roundCmd(args[1:])
	case "report":
		fs := flag.NewFlagSet("report", flag.ContinueOnError)
		out := fs.String("out", "", "also write the report here (*.json: the rounds as a JSON array)")
		header := fs.String("header", "", "lines printed above the table")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("usage: loadgen report [-out FILE] ROUNDS.jsonl")
		}
		return report(fs.Arg(0), *header, *out)
	default:
		return fmt.Errorf("unknown command %q (want setup, round or report)", args[0])
	}
}
