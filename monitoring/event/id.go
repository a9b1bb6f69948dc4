package event

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
	"strings"
)

// Prefixes of event IDs, as Open-Falcon's: "s" for a strategy on a metric,
// "e" for a strategy given as an expression.
const (
	PrefixStrategy   = "s"
	PrefixExpression = "e"
)

// PK is Open-Falcon's series key: "endpoint/metric", or
// "endpoint/metric/k1=v1,k2=v2" with the tags sorted by key. It must stay
// byte-for-byte equal to the PK of the ingest side (monitoring/metric),
// since event IDs and shard placement both hash it.
func PK(endpoint, metric string, tags map[string]string) string {
	var b strings.Builder
	b.WriteString(endpoint)
	b.WriteByte('/')
	b.WriteString(metric)
	if len(tags) == 0 {
		return b.String()
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('/')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(tags[k])
	}
	return b.String()
}

// ID is the event ID of a series (by its PK) under a strategy:
// prefix + "_" + strategyID + "_" + md5 hex of pk.
func ID(prefix, strategyID, pk string) string {
	return IDOfSum(prefix, strategyID, PKSum(pk))
}

// PKSum is the md5 hex of pk that ends an event ID: a series matched by
// several strategies hashes its PK once (IDOfSum).
func PKSum(pk string) string {
	sum := md5.Sum([]byte(pk))
	return hex.EncodeToString(sum[:])
}

// IDOfSum is ID for a PK already hashed with PKSum.
func IDOfSum(prefix, strategyID, pkSum string) string {
	return prefix + "_" + strategyID + "_" + pkSum
}
