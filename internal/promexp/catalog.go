package promexp

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Catalog is the set of families a process exposes, indexed for the writer.
// It is immutable after NewCatalog and safe for concurrent use.
type Catalog struct {
	list   []Family
	byName map[string]*entry
	bufs   sync.Pool // *scratch for Write
}

// entry is a family with its HELP and TYPE lines rendered once.
type entry struct {
	f      Family
	header []byte
}

// NewCatalog indexes the given families (each component's MetricFamilies).
// A family listed twice must be identical; an invalid one is an error.
func NewCatalog(groups ...[]Family) (*Catalog, error) {
	c := &Catalog{byName: map[string]*entry{}}
	for _, g := range groups {
		for _, f := range g {
			if err := f.Validate(); err != nil {
				return nil, fmt.Errorf("cannot build the metric catalog: %w", err)
			}
			if old, ok := c.byName[f.Name]; ok {
				if old.f.Type != f.Type || old.f.Help != f.Help || !slices.Equal(old.f.Labels, f.Labels) {
					return nil, fmt.Errorf("cannot build the metric catalog: family %s is described twice, differently", f.Name)
				}
				continue
			}
			c.byName[f.Name] = &entry{f: f, header: header(f.Name, string(f.Type), f.Help)}
			c.list = append(c.list, f)
		}
	}
	slices.SortFunc(c.list, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return c, nil
}

// Families lists the catalog's families sorted by name.
func (c *Catalog) Families() []Family { return slices.Clone(c.list) }

// Lookup finds the family a sample name belongs to: the family of that name,
// or the histogram or summary whose _bucket, _sum or _count it is.
func (c *Catalog) Lookup(sample string) (Family, bool) {
	if e := c.lookup([]byte(sample)); e != nil {
		return e.f, true
	}
	return Family{}, false
}

func (c *Catalog) lookup(sample []byte) *entry {
	if e, ok := c.byName[string(sample)]; ok {
		return e
	}
	for _, suffix := range [...]string{"_bucket", "_sum", "_count"} {
		base, ok := cutSuffix(sample, suffix)
		if !ok {
			continue
		}
		if e, ok := c.byName[string(base)]; ok && (e.f.Type == Histogram || e.f.Type == Summary && suffix != "_bucket") {
			return e
		}
	}
	return nil
}

func cutSuffix(b []byte, suffix string) ([]byte, bool) {
	if len(b) <= len(suffix) || string(b[len(b)-len(suffix):]) != suffix {
		return b, false
	}
	return b[:len(b)-len(suffix)], true
}

// header renders a family's HELP and TYPE lines, escaping the help text as
// the text format requires (backslash and line feed).
func header(name, typ, help string) []byte {
	help = strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help)
	return []byte("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}
