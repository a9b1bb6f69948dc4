// Package rrd is Wharf's round-robin series model: the arithmetic of
// rrdtool 1.7 (rrd_update.c, rrd_fetch.c) for one data source, written
// anew in Go, pure (no I/O: rows go through RowWriter/RowReader, so the
// same code runs on memory and on the mapped files of seriesstore).
//
// # Shape
//
// A Spec is rrdtool's create parameters: a step, a heartbeat, a data
// source type (GAUGE, DERIVE, COUNTER) with optional min/max bounds on the
// rate, and archives (CF, PDPs per row, rows, xff). FalconSpec is the shape
// Open-Falcon's graph creates: heartbeat 2×step; GAUGE unbounded; COUNTER
// and DERIVE both as DERIVE with minimum 0; AVERAGE 1×720 and
// AVERAGE/MAX/MIN 5×576, 20×504, 180×766, 720×730, all with xff 0. A State
// is the rest of rrdtool's header (last update, PDP and CDP scratch, the
// current row of each archive); NewState is what `rrdtool create --start`
// leaves.
//
// # Update
//
// Update(spec, state, rows, t, v) is `rrdtool update file t:v` after
// Falcon's graph has prepared the value:
//   - a value that is NaN, beyond ±1e300 or within ±1e-300 (not 0) is
//     skipped (ErrSkipped); COUNTER/DERIVE values are truncated to integers
//     as Go's int() does on amd64 (FalconInt);
//   - a time not after the last update is refused (ErrStale) and the point
//     dropped, as Falcon drops what rrdtool refuses;
//   - otherwise: the rate (GAUGE: the value; DERIVE/COUNTER: the difference
//     to the last value over the interval, unknown when the signs differ as
//     in rrd_diff; COUNTER adds 2^32-1 then 2^64-2^32 on a wrap), unknown if
//     the interval exceeds the heartbeat or the rate is outside min/max;
//     time-weighted into primary data points on the step grid, a PDP being
//     unknown when more than half of it is; PDPs consolidated into each
//     archive's rows by its CF with the xff rule. Points off the grid are
//     split across the boundary; when one update closes several PDPs, the
//     partly filled first one is closed on its own (rrdtool 1.7's rule).
//
// Every floating-point operation is done in rrdtool's order with explicit
// float64 conversions (no fused multiply-add), so results are bit-for-bit
// those of rrdtool for the same doubles.
//
// # Fetch
//
// PlanFetch(spec, state, Query{CF, Start, End, Step}) picks the archive as
// rrd_fetch_fn does: archives of the CF (and any one-PDP archive of
// AVERAGE/MAX/MIN/LAST) that cover Start, the one whose step is closest to
// the wished Step (0 or 1: the finest); if none covers Start, the one that
// covers most of the window. Start is aligned down to the archive's step,
// End up (always one step past an aligned End); the answer has
// (End-Start)/Step values, the i-th for the interval ending at
// Start+(i+1)×Step, NaN where unknown or outside the archive. This is
// exactly what `rrdtool fetch file CF -s Start -e End -r Step` prints.
//
// The side-by-side test (rrdtool_test.go) drives this package and the real
// rrdtool binary with generated schedules and compares every fetch.
package rrd
