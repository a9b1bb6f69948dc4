// Package seriesstore keeps round-robin series (package rrd) on disk, one
// fixed-size file per series, with bounded memory whatever the number of
// series, no loss of an acknowledged point on a crash and no series
// corrupted by a torn write.
//
// # Layout
//
//	<dir>/LOCK                       flock: one store (one shard) per directory
//	<dir>/series/<xx>/<hash>.rrd     one file per series, named by sha256(key)
//	<dir>/wal/<seq>.log              write-ahead log segments since the last checkpoint
//
// A series file is a 4 KiB header region — magic, CRC-32C and length of the
// body, then the key, the spec and the rrd.State — followed by every
// archive's rows as little-endian float64 (Falcon's layout: 8,448 rows, a
// 71,680-byte file). Files are created at full size, written with write(2)
// so their blocks exist, then mapped shared: an update is a few stores
// into the mapping, written back by the kernel.
//
// # Durability
//
// Update(points) is one group: it appends to the log, for each series not
// yet logged since the last checkpoint, a base image of its header (for a
// new series, flagged "new"), then every point (key, time, value); each
// record is length + CRC-32C + payload. The log is fsynced once; only then
// are the points applied to the mapped files. When Update returns nil the
// points survive a crash (a caller that batches at least every second loses
// at most its last second).
//
// Headers are kept in memory while a file is open and written into the
// mapping only at eviction and at a checkpoint. A checkpoint (every
// CheckpointEvery, when the segment exceeds MaxWALBytes, and at Close)
// writes the dirty headers, fsyncs every series file logged since the last
// checkpoint and their directories, starts a new segment and deletes the
// old ones.
//
// Open replays the log segments in order: a base image rewrites the
// series' header (a "new" one rewrites its whole file: header and unknown
// rows), and each point is applied again exactly as the first time — same
// state, same row positions, same values. Whatever a crash left in a file
// written after the checkpoint (a header half old and half new, rows of any
// age, sectors in any mix, a new file cut short) is therefore overwritten
// with the right content, because every byte written since the checkpoint
// was written by a point in the log. The log itself ends at its first torn
// or corrupt record: those points were never acknowledged. A header whose
// checksum fails in a file no log record covers (rot, not a crash) moves the
// file aside as <name>.corrupt-<time> and the series starts anew; the
// store keeps serving the others. Row values carry no checksum.
//
// # Memory
//
// Per series the store keeps only its key in the index (for List). At most
// MaxOpen files are open and mapped (their headers decoded), least recently
// used closed first; the set of series logged since the last checkpoint
// is bounded by the checkpoint interval.
//
// # Series and points
//
// A series is created by its first point, with the spec Options.Spec makes
// from the point's step and counter type (default rrd.FalconSpec) and
// created at the point's time minus Options.CreateLead (default 24 h, as
// Falcon's graph creates files at now-24h: the first GAUGE point of a
// series is therefore unknown). Later points must agree with the series
// (same step; GAUGE or not), else they are rejected, like a bad key (empty
// or longer than MaxKeyLen) or a time outside 0..rrd.MaxTime. Fetch answers
// like `rrdtool fetch`; List pages the keys in order.
package seriesstore
