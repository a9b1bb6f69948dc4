package config

import (
	"context"
	"strings"

	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/httperr"
)

// Namespace and cluster names are case-insensitive, as in Apollo: a client
// or a team may write "Application" or "SHA" for the namespace
// "application" of cluster "sha". Each is stored once, under the name it
// was created with (its canonical name); every read, poll and write
// resolves a name to it. Names that differ only in case cannot be created
// side by side (a name made before this rule keeps working by its exact
// spelling).

// fold is the form names are compared in.
func fold(s string) string { return strings.ToLower(s) }

// nameIndex maps the folded names of the namespaces whose heads exist to
// their canonical names. The hub keeps one; it is not safe for concurrent
// use on its own.
type nameIndex struct {
	// paths: fold(app/cluster/ns) → the namespace as stored.
	paths map[string]nsID
	// clusters: fold(app/cluster) → the cluster as stored and the number
	// of its namespaces.
	clusters map[string]clusterName
	// appNS: fold(app/ns) → the number of the app's clusters with ns.
	appNS map[string]int
}

type clusterName struct {
	name string
	n    int
}

func newNameIndex() nameIndex {
	return nameIndex{paths: map[string]nsID{}, clusters: map[string]clusterName{}, appNS: map[string]int{}}
}

// add records namespace n (idempotent).
func (x nameIndex) add(n nsID) {
	k := fold(n.path())
	if _, ok := x.paths[k]; ok {
		return
	}
	x.paths[k] = n
	x.appNS[fold(n.App+"/"+n.NS)]++
	ck := fold(n.App + "/" + n.Cluster)
	c := x.clusters[ck]
	if c.n == 0 {
		c.name = n.Cluster
	}
	c.n++
	x.clusters[ck] = c
}

// remove forgets namespace n.
func (x nameIndex) remove(n nsID) {
	k := fold(n.path())
	if got, ok := x.paths[k]; !ok || got != n {
		return
	}
	delete(x.paths, k)
	if ak := fold(n.App + "/" + n.NS); x.appNS[ak] <= 1 {
		delete(x.appNS, ak)
	} else {
		x.appNS[ak]--
	}
	ck := fold(n.App + "/" + n.Cluster)
	if c := x.clusters[ck]; c.n <= 1 {
		delete(x.clusters, ck)
	} else {
		c.n--
		x.clusters[ck] = c
	}
}

// lookup is the stored namespace app/cluster/ns names, in any case.
func (x nameIndex) lookup(app, cluster, ns string) (nsID, bool) {
	n, ok := x.paths[fold(app+"/"+cluster+"/"+ns)]
	return n, ok
}

// cluster is the stored name of app's cluster c, in any case.
func (x nameIndex) cluster(app, c string) (string, bool) {
	got, ok := x.clusters[fold(app+"/"+c)]
	return got.name, ok
}

// canonical is what a client's read of n names, with the namespace and
// cluster names as stored: the namespace of the cluster, else of the
// default cluster, else the public namespace of that name; the cluster
// as stored when the app (or the public namespace's owner) has it. Names
// nobody stored come back unchanged (the read then finds nothing). A
// public name that matches several public namespaces in case only, none
// exactly, is refused (409): never another app's config by a guess.
func (h *hub) canonical(n nsID) (nsID, error) {
	var buf [256]byte // the path, without an allocation per read
	p := append(append(append(append(append(buf[:0], n.App...), '/'), n.Cluster...), '/'), n.NS...)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.versions[string(p)]; ok {
		return n, nil
	}
	if got, ok := h.names.lookup(n.App, n.Cluster, n.NS); ok {
		return got, nil
	}
	out := n
	owner := ""
	if got, ok := h.names.lookup(n.App, model.DefaultCluster, n.NS); ok {
		out.NS = got.NS
	} else if p, ok, ambiguous := h.public.pick(n.NS); ok {
		out.NS, owner = p.name, p.owner
	} else if ambiguous {
		return n, httperr.Conflict("namespace %s is ambiguous: public namespaces %s differ only in case; ask with the exact name", n.NS, h.public.spellings(n.NS))
	}
	if c, ok := h.names.cluster(n.App, n.Cluster); ok {
		out.Cluster = c
	} else if c, ok := h.names.cluster(owner, n.Cluster); ok && owner != "" {
		out.Cluster = c
	}
	return out, nil
}

// canonicalWrite is the namespace a team's write of n changes, with the
// names as stored, read from the store (not the hub, which may not have
// seen a namespace created a moment ago on another node): n itself when
// its head exists, else the app's head whose names match n's in any
// case, else n with its cluster as stored when the app has that cluster
// (a new namespace joins it).
func (f *Function) canonicalWrite(ctx context.Context, n nsID) (nsID, error) {
	var h Head
	if _, ok, err := f.getJSON(ctx, n.headKey(), &h); err != nil || ok {
		return n, err
	}
	heads, err := listAll[Head](ctx, f, headPrefix+n.App+"/")
	if err != nil {
		return n, err
	}
	out := n
	for _, h := range heads {
		if !strings.EqualFold(h.Cluster, n.Cluster) {
			continue
		}
		out.Cluster = h.Cluster
		if strings.EqualFold(h.Namespace, n.NS) {
			return nsID{n.App, h.Cluster, h.Namespace}, nil
		}
	}
	return out, nil
}

// knownName reports whether key (a head or a public claim) names a
// namespace the hub knows in some cluster of the app, or publicly: only
// such a key's absence is kept for an outage (a client reading random
// names must not push real entries out of lastKnown).
func (h *hub) knownName(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if name, ok := strings.CutPrefix(key, publicPrefix); ok {
		return len(h.public[fold(name)]) > 0
	}
	n, ok := parseHeadKey(key)
	if !ok {
		return false
	}
	return h.names.appNS[fold(n.App+"/"+n.NS)] > 0 || len(h.public[fold(n.NS)]) > 0
}

// publicNamed is the public namespace called name (exactly, else in any
// case); ambiguous as in publicIndex.pick.
func (h *hub) publicNamed(name string) (p publicNS, ok, ambiguous bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.public.pick(name)
}
