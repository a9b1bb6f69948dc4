// Package seriesstore keeps round-robin series (package rrd) on disk in
// fixed-size slots of a few big segment files, with bounded anonymous
// memory whatever the number of series, no loss of an acknowledged point
// on a crash and no series corrupted by a torn write.
//
// # Layout
//
//	<dir>/LOCK                        flock: one store (one shard) per directory
//	<dir>/slots/<size>/<n>.seg        segment files of slots of <size> bytes
//	<dir>/wal/<seq>.log               write-ahead log segments since the last checkpoint
//	<dir>/corrupt/                    what was set aside: rotten slots, unreadable old files
//
// A series is a 4 KiB header region — magic, CRC-32C and length of the
// body, then the key, the spec and the rrd.State — followed by every
// archive's rows as little-endian float64 (Falcon's layout: 8,448 rows,
// 71,680 bytes). Every series of a spec has the same size, so series live
// in slots of that size rounded up to whole pages (73,728 bytes for
// Falcon's layout), many to a segment file (Options.SegmentBytes, default
// 64 MiB: 910 slots). Specs of another size (Options.Spec may make them)
// get their own class of segments, slots/<size>/. A segment is mapped
// shared once for the life of the store, room for all its slots; its file
// grows as slots are taken (doubling, blocks allocated, so a full disk is
// an error then, not a fault on a later store into the mapping, and a
// store of a few series takes a few slots of disk, not 64 MiB). An update
// decodes the series' header from the mapping, writes a few rows and the
// header back, and the kernel writes the pages back. A slot whose header
// region is zero is free; a new series takes the lowest free slot of its
// class, a new segment when none is left.
//
// The store keeps no file per series open and unmaps nothing while it
// runs, so the number of series is bounded by the disk, not by open files
// or mappings (a shard of 12,500 Falcon series maps 14 segments).
//
// # Durability
//
// Update(points) is one group: it appends to the log, for each series not
// yet logged since the last checkpoint, a base image of its header and the
// slot it lives in (for a new series, flagged "new", with the slot just
// allocated to it), then every point (the number of its series' base
// image in the log segment, time, value), many points to a record; each
// record is length + CRC-32C + payload. The log is fsynced once; only then are the
// points applied to the slots (later, see below). When Update returns nil the points survive
// a crash (a caller that batches at least every second loses at most its
// last second).
//
// Update is Append (log written, no fsync) then Sync (the fsync, without
// the store's lock, covering every Append before it): a caller such as
// the series writer appends many groups per Sync and acknowledges them
// after it (group fsync, sync.go). No page of a series' slot is written
// before the log records it depends on (the series' base image and
// points, all in the log before its newest point's end) are synced: every
// path that writes one (applying deferred points, applying at once, a
// checkpoint) syncs the log first unless those records are synced
// already, and a new series is written into its slot by the sync that
// covers its base image. (Slots are whole pages: no page holds two
// series.) Open syncs the log segments it finds before replaying them.
//
// Logged points wait in memory and are applied to their slots many at a
// time (deferred.go): by a pass when MaxDeferredPoints wait, at every
// checkpoint, and per series before it is read. A pass never holds the
// store's lock for long (pass.go): it takes the points waiting when it
// starts, syncs the log without the lock, and applies them in slices of
// about a millisecond, releasing the lock between slices, so Append,
// Sync and reads go on beside it. A read applies its series' waiting
// points first, those the pass took before the newer ones. The pass an
// Append's bound starts runs in the background; only when points come
// faster than passes apply them (twice MaxDeferredPoints waiting) does an
// Append apply some itself, about as many as it queued: points of series
// whose log records are synced (a writer that syncs after its Appends has
// them), else it syncs the log first, without the lock, like a read.
//
// A checkpoint (every CheckpointEvery, when the log segment exceeds
// MaxWALBytes — in the background then — and at Close) applies the
// waiting points in a pass, then, under the store's lock, syncs the log
// and starts a new log segment; the points logged during the pass (in the
// old segment, synced) are applied by a second pass (a series' first
// point in the new segment logs them again after its base image, so the
// new segment alone replays them). Then it fsyncs every segment
// written since the last checkpoint — a handful of fsyncs, not one per
// series — and the directories of new segments, without the lock, beside
// updates (logged, base images first, to the new segment), and deletes
// the old log segments only once every point they hold is applied and
// the fsyncs are done, so a crash in between replays old and new
// segments in order.
//
// Open replays the log segments in order: a base image rewrites the
// header of its slot (a "new" one the whole slot: header and unknown rows,
// re-creating a segment a crash lost), and each point is applied again
// exactly as the first time — same state, same row positions, same values.
// Whatever a crash left in a slot written after the checkpoint (a header
// half old and half new, rows of any age, sectors in any mix, a segment
// cut short or missing) is therefore overwritten with the right content,
// because every byte written since the checkpoint was written by a record
// in the log. The log itself ends at its first torn or corrupt record:
// those points were never acknowledged. Then every slot no log record
// covers is indexed from its header. A header whose checksum fails there
// (rot, not a crash) isolates that series only: the slot is copied aside
// to corrupt/<size>-<segment>-<slot>.corrupt-<time>, freed, and the series
// starts anew with its next point; the store keeps serving the others. A
// header found rotten while the store runs is handled the same way. Row
// values carry no checksum.
//
// # Memory
//
// Per series the store keeps its key and its slot in the index (for List
// and lookups); headers are decoded into one scratch value per store, not
// kept. The segments' mapped pages are page cache, shared with the file
// system and reclaimable by the kernel (written back first when dirty),
// not anonymous memory: a process's RSS counts the pages it touched, its
// anonymous memory does not grow with them. The set of series logged since
// the last checkpoint is bounded by the checkpoint interval. Waiting
// points take 16 bytes each in chunks of 15 (queue.go), at most two of
// a series' chunks partly filled (its queued and its taken points); they
// wait below about 2 × MaxDeferredPoints queued beside what a pass took
// (as many), except the points of one Append larger than that until it
// has applied them. Applied chunks go back to a pool that keeps at most 4
// × MaxDeferredPoints points' worth and leaves the rest to the garbage
// collector, so one huge Append does not keep its memory.
//
// # Migration
//
// A directory of the old layout (one file per series,
// series/<xx>/<hash>.rrd, same header and rows) is migrated at Open: each
// file is copied into a slot, the old log (whose base images name series
// by key) is replayed onto the slots, the segments are fsynced, and only
// then is series/ renamed to series.old/ (the commit) and removed after
// the checkpoint. A crash before the commit starts the migration over from
// the old files; after it, Open replays the old log onto the slots again,
// which is idempotent. A file that is not a sound series file moves to
// corrupt/. (An old file a crash of the old version tore, which its log
// covers, restarts with unknown rows from the log's base image.)
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
