// Command loadgen drives bench/config/run.sh: it holds many Apollo long
// polls on a config service and times their answers to one publish, and
// measures /configs fetches that end in 304. It imports no Wharf package:
// it speaks the Apollo client protocol as any client would.
//
//	loadgen polls -server URL -token T -app A -n 10000 -publish-url URL -pid PID
//	loadgen fetch -server URL -token T -app A -concurrency 32 -duration 10s
//	loadgen floor -n 10000
//
// Each prints one JSON line with its results on stdout.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen polls|fetch|floor [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "polls":
		err = runPolls(os.Args[2:])
	case "fetch":
		err = runFetch(os.Args[2:])
	case "floor":
		err = runFloor(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want polls, fetch or floor)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// emit prints v as one JSON line.
func emit(v any) error {
	return json.NewEncoder(os.Stdout).Encode(v)
}

// percentile returns the p-th percentile (0..100, nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// ms renders d in milliseconds with three decimals.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
