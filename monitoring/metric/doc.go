// Package metric is Wharf's model of a metric point as Open-Falcon's
// transfer accepts it: the push item (a JSON array of {endpoint, metric,
// timestamp, step, value, counterType, tags}), its validation, the series
// identity (Falcon's PK: endpoint/metric[/k=v,... sorted by key]) and the
// batch of points that travels on NSQ from ingest to the series writer and
// the judge. It is pure: no I/O.
package metric
