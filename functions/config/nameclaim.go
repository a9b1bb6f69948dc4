package config

import "context"

// namePrefix holds each app's claims of its cluster and namespace names
// in any case: namePrefix+app+"/"+fold(cluster) and
// namePrefix+app+"/"+fold(cluster)+"/"+fold(ns), each the name as
// created. A claim is made with compare-and-swap before a head is
// created, so two nodes creating "Foo" and "foo" at once cannot both
// succeed (the hub, and the listing canonicalWrite reads, may not have
// seen the other yet).
const namePrefix = prefix + "names/"

// claimName claims n's cluster and namespace names for n.App; it returns
// n with the names as claimed, the first claim of each winning.
func (f *Function) claimName(ctx context.Context, n nsID) (nsID, error) {
	c, err := f.claimOne(ctx, namePrefix+n.App+"/"+fold(n.Cluster), n.Cluster)
	if err != nil {
		return n, err
	}
	n.Cluster = c
	ns, err := f.claimOne(ctx, namePrefix+n.App+"/"+fold(n.Cluster)+"/"+fold(n.NS), n.NS)
	if err != nil {
		return n, err
	}
	n.NS = ns
	return n, nil
}

// claimOne is the name claimed at key, claiming it as name if free.
func (f *Function) claimOne(ctx context.Context, key, name string) (string, error) {
	for range casRetries {
		var got string
		_, ok, err := f.getJSON(ctx, key, &got)
		if err != nil || ok {
			return got, err
		}
		_, conflict, err := f.casJSON(ctx, key, 0, name)
		if err != nil {
			return "", err
		}
		if !conflict {
			return name, nil
		}
	}
	return "", busy("claim the name " + name)
}
