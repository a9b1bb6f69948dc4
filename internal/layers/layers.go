// Package layers states the import rules of DESIGN.md ("Layout" and
// "Direction of imports") as data and checks an import graph against
// them. Its test runs `go list` over the module, so that a change that
// breaks a rule fails `go test ./internal/layers/` naming the import.
//
// The rules, by the first element of a package's path (its layer):
//
//	cmd, bench   may import anything
//	gateway      gateway, internal
//	functions    its own function (functions/<name>/...), artifacts, monitoring, internal
//	runner       runner, artifacts, monitoring, internal, client, and the
//	             contracts of a function (functions/<name>/wire), nothing else
//	             of functions
//	client       client only: the packages apps import (client/config) depend
//	             on nothing else of Wharf
//	artifacts    artifacts, internal
//	monitoring   monitoring, internal
//	internal     internal
//
// and a contract package (functions/<name>/wire) imports no package of
// functions at all: both sides import it, it imports neither.
package layers

import (
	"fmt"
	"slices"
	"strings"
)

// Violation is one import that breaks a rule.
type Violation struct {
	// From imports To; both are paths inside the module.
	From, To string
	// Rule says which rule it breaks.
	Rule string
}

// String renders v for a test failure.
func (v Violation) String() string { return v.From + " imports " + v.To + ": " + v.Rule }

// Check returns the imports of graph that break the rules, sorted.
// graph maps a package's path inside the module (e.g. "runner/agent") to
// the module paths it imports (packages outside the module left out).
// A package in no known layer is a violation of its own, so that a new
// top-level folder gets a rule before it gets code.
func Check(graph map[string][]string) []Violation {
	var out []Violation
	for from, imports := range graph {
		fl := layer(from)
		ok, known := allowedLayers(fl)
		if !known {
			out = append(out, Violation{From: from, Rule: fmt.Sprintf("top-level folder %q has no import rule in internal/layers", fl)})
			continue
		}
		for _, to := range imports {
			if v, bad := check(from, to, ok); bad {
				out = append(out, v)
			}
		}
	}
	slices.SortFunc(out, func(a, b Violation) int {
		return strings.Compare(a.From+"\x00"+a.To, b.From+"\x00"+b.To)
	})
	return out
}

// check reports whether from importing to breaks a rule; ok is the
// layers from's layer may import (nil: any).
func check(from, to string, ok []string) (Violation, bool) {
	fl, tl := layer(from), layer(to)
	if ok != nil && !slices.Contains(ok, tl) {
		return Violation{From: from, To: to, Rule: fmt.Sprintf("%s may import only %s", fl, strings.Join(ok, ", "))}, true
	}
	if tl != "functions" {
		return Violation{}, false
	}
	switch {
	case isContract(from):
		return Violation{From: from, To: to, Rule: "a contract package (functions/<name>/wire) imports no function package; move what it needs into it"}, true
	case fl == "runner" && !isContract(to):
		return Violation{From: from, To: to, Rule: "runner imports only the contracts of a function (functions/<name>/wire)"}, true
	case fl == "functions" && function(from) != function(to):
		return Violation{From: from, To: to, Rule: "a function imports no other function; shared contracts live in artifacts/, monitoring/ or internal/"}, true
	}
	return Violation{}, false
}

// allowedLayers returns the layers that packages of layer l may import
// (nil: any) and whether l has a rule at all.
func allowedLayers(l string) ([]string, bool) {
	switch l {
	case "cmd", "bench":
		return nil, true
	case "gateway":
		return []string{"gateway", "internal"}, true
	case "functions":
		return []string{"functions", "artifacts", "monitoring", "internal"}, true
	case "runner":
		return []string{"runner", "artifacts", "monitoring", "internal", "functions", "client"}, true
	case "client":
		return []string{"client"}, true
	case "artifacts":
		return []string{"artifacts", "internal"}, true
	case "monitoring":
		return []string{"monitoring", "internal"}, true
	case "internal":
		return []string{"internal"}, true
	}
	return nil, false
}

// layer is the first element of path.
func layer(path string) string {
	l, _, _ := strings.Cut(path, "/")
	return l
}

// function is the function a package of functions/ belongs to
// (functions/deploy/plan → deploy).
func function(path string) string {
	parts := strings.SplitN(path, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// isContract reports whether path is a function's contract package.
func isContract(path string) bool {
	parts := strings.Split(path, "/")
	return len(parts) == 3 && parts[0] == "functions" && parts[2] == "wire"
}
