package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/promexp"
)

// Every family a wharf role can expose is described, follows the Prometheus
// naming conventions and is listed in docs/metrics.md with its type and labels.
func TestMetricCatalog(t *testing.T) {
	t.Parallel()
	c, err := promexp.NewCatalog(metricFamilies()...)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(string(doc), "\n") {
		cells := strings.Split(l, "|")
		if len(cells) > 4 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`") &&
			slices.Contains([]string{"counter", "gauge", "histogram", "summary"}, strings.TrimSpace(cells[2])) {
			rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = l
		}
	}
	for _, f := range c.Families() {
		if strings.HasPrefix(f.Name, "wharf_") {
			if err := f.CheckConventions(); err != nil {
				t.Error(err)
			}
		} else if !strings.HasPrefix(f.Name, "go_") && !strings.HasPrefix(f.Name, "process_") {
			t.Errorf("%s: neither wharf_ nor the Go runtime's", f.Name)
		}
		if !strings.HasPrefix(f.Name, "wharf_") {
			continue
		}
		row, ok := rows[f.Name]
		if !ok {
			t.Errorf("docs/metrics.md does not list %s", f.Name)
			continue
		}
		if !strings.Contains(row, "| "+string(f.Type)+" |") {
			t.Errorf("docs/metrics.md: %s is a %s: %s", f.Name, f.Type, row)
		}
		for _, l := range f.Labels {
			if !strings.Contains(row, "`"+l+"`") {
				t.Errorf("docs/metrics.md: %s has label %s: %s", f.Name, l, row)
			}
		}
		delete(rows, f.Name)
	}
	for name := range rows {
		if strings.HasPrefix(name, "wharf_") {
			t.Errorf("docs/metrics.md lists %s, which no component exposes", name)
		}
	}
}
