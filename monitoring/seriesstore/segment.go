package seriesstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// slotRef names a slot of a class: its segment's number and its index in
// that segment.
type slotRef struct{ seg, idx uint32 }

// segment is one segment file, mapped shared for the life of the store:
// rows and headers are written and read as plain memory, the kernel writes
// them back and checkpoints fsync the file. The mapping covers every slot
// the segment can hold; the file grows (blocks allocated) as its slots are
// taken, so only the first backed slots may be touched (beyond the end of
// the file a touch would fault).
type segment struct {
	path   string
	f      *os.File
	data   []byte
	backed int  // slots the file holds
	dirty  bool // written since the last checkpoint
}

// class holds every segment of one slot size (one size of spec).
type class struct {
	size    int64  // bytes per slot, whole pages
	perSeg  int    // slots of a new segment
	dir     string // <dir>/slots/<size>
	segs    []*segment
	free    []slotRef // a stack: the lowest free slot on top
	newSegs bool      // segments created since the last checkpoint
	// allocate gives a segment file blocks (allocate; tests replace it).
	allocate func(f *os.File, off, size int64) error
}

func newClass(root string, size, segmentBytes int64) *class {
	return &class{size: size, perSeg: int(max(1, segmentBytes/size)), dir: filepath.Join(root, strconv.FormatInt(size, 10)), allocate: allocate}
}

// errNoSpace: the file system has no room for a new series' slot. The
// point is refused and counted (Result.NoSpace); the store goes on.
var errNoSpace = errors.New("no space left for a new series")

func segmentFile(n int) string { return fmt.Sprintf("%06d.seg", n) }

// slot returns the bytes of slot r (which must exist).
func (c *class) slot(r slotRef) []byte {
	off := int64(r.idx) * c.size
	return c.segs[r.seg].data[off : off+c.size : off+c.size]
}

// slots is the number of slots segment g can hold (backed or not).
func (c *class) slots(g *segment) int { return int(int64(len(g.data)) / c.size) }

// has reports whether slot r exists.
func (c *class) has(r slotRef) bool {
	return int(r.seg) < len(c.segs) && int(r.idx) < c.slots(c.segs[r.seg])
}

// touch marks the segment of slot r written since the last checkpoint.
func (c *class) touch(r slotRef) { c.segs[r.seg].dirty = true }

// alloc takes a free slot, adding a segment when none is left.
func (c *class) alloc() (slotRef, error) {
	if len(c.free) == 0 {
		g, err := c.addSegment()
		if err != nil {
			return slotRef{}, err
		}
		n := uint32(len(c.segs) - 1)
		for i := c.slots(g) - 1; i >= 0; i-- {
			c.free = append(c.free, slotRef{seg: n, idx: uint32(i)})
		}
	}
	r := c.free[len(c.free)-1]
	if err := c.back(r); err != nil {
		return slotRef{}, err
	}
	c.free = c.free[:len(c.free)-1]
	return r, nil
}

// back grows the file of r's segment so that it holds slot r: doubling
// (at least to r, at most to the segment's capacity), with blocks
// allocated, so a full disk is an error here, not a fault on a later store
// into the mapping.
func (c *class) back(r slotRef) error {
	g := c.segs[r.seg]
	if int(r.idx) < g.backed {
		return nil
	}
	n := min(c.slots(g), max(int(r.idx)+1, 2*g.backed))
	if err := c.allocate(g.f, int64(g.backed)*c.size, int64(n)*c.size); err != nil {
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			return fmt.Errorf("%w: %w", errNoSpace, err)
		}
		return err
	}
	g.backed = n
	g.dirty = true
	return nil
}

// release puts slot r back on the free list after zeroing its header
// region (written back at the next checkpoint), so a scan finds it free.
func (c *class) release(r slotRef) {
	clear(c.slot(r)[:headerSize])
	c.touch(r)
	c.free = append(c.free, r)
}

// ensure makes the segments up to r's exist: a slot logged as new can sit
// in a segment created after the last checkpoint, lost in a crash.
func (c *class) ensure(r slotRef) error {
	for len(c.segs) <= int(r.seg) {
		if _, err := c.addSegment(); err != nil {
			return err
		}
	}
	if !c.has(r) {
		return fmt.Errorf("cannot find slot %d of segment %s: %w", r.idx, c.segs[r.seg].path, errCorrupt)
	}
	return c.back(r)
}

// addSegment creates and maps the next segment of the class (its slots
// are free; its file empty until one is taken).
func (c *class) addSegment() (*segment, error) {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create segment directory: %w", err)
	}
	g, err := openSegmentFile(filepath.Join(c.dir, segmentFile(len(c.segs))), c.size, c.perSeg)
	if err != nil {
		return nil, err
	}
	g.dirty = true
	c.segs = append(c.segs, g)
	c.newSegs = true
	return g, nil
}

// openSegmentFile opens (creating) a segment file and maps room for at
// least perSeg slots (more if the file holds more); the whole slots the
// file holds are backed, a slot cut short by a crash is not.
func openSegmentFile(path string, size int64, perSeg int) (*segment, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open segment file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot stat segment file: %w", err)
	}
	backed := st.Size() / size
	room := max(backed, int64(perSeg)) * size
	data, err := syscall.Mmap(int(f.Fd()), 0, int(room), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot map segment file: %w", err)
	}
	return &segment{path: path, f: f, data: data, backed: int(backed)}, nil
}

// allocate gives f blocks from off to size (and that size): fallocate, or
// zeros written where the file system cannot.
func allocate(f *os.File, off, size int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, off, size-off)
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EOPNOTSUPP) && !errors.Is(err, syscall.ENOSYS) {
		return fmt.Errorf("cannot allocate segment file: %w", err)
	}
	zeros := make([]byte, 1<<20)
	for ; off < size; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return fmt.Errorf("cannot allocate segment file: %w", err)
		}
	}
	return nil
}

// sync makes what was written into the mapping (and the file's size)
// durable. It may run without the store's lock: it reads only g.f.
func (g *segment) sync() error {
	if err := g.f.Sync(); err != nil {
		return fmt.Errorf("cannot sync segment file: %w", err)
	}
	return nil
}

// close unmaps and closes the segment, writing nothing.
func (g *segment) close() error {
	err := syscall.Munmap(g.data)
	g.data = nil
	if cerr := g.f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot close segment file: %w", err)
	}
	return nil
}

// loadClasses opens every segment under root (<size>/<n>.seg); a segment
// missing below the highest (lost in a crash before its name was durable)
// is created empty.
func loadClasses(root string, segmentBytes int64) (map[int64]*class, error) {
	out := make(map[int64]*class)
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("cannot list segment classes: %w", err)
	}
	for _, e := range ents {
		size, err := strconv.ParseInt(e.Name(), 10, 64)
		if !e.IsDir() || err != nil || size <= headerSize || size%pageSize != 0 {
			continue
		}
		c := newClass(root, size, segmentBytes)
		files, err := os.ReadDir(c.dir)
		if err != nil {
			return nil, fmt.Errorf("cannot list segments: %w", err)
		}
		var nums []int
		for _, f := range files {
			name, ok := strings.CutSuffix(f.Name(), ".seg")
			if n, err := strconv.Atoi(name); ok && err == nil && n >= 0 {
				nums = append(nums, n)
			}
		}
		slices.Sort(nums)
		out[size] = c
		if len(nums) == 0 {
			continue
		}
		for n := 0; n <= nums[len(nums)-1]; n++ {
			g, err := openSegmentFile(filepath.Join(c.dir, segmentFile(n)), c.size, c.perSeg)
			if err != nil {
				closeClasses(out)
				return nil, err
			}
			g.dirty = true // the first checkpoint makes whatever they hold durable
			c.segs = append(c.segs, g)
		}
		c.newSegs = true
	}
	return out, nil
}

// closeClasses closes every segment without writing anything.
func closeClasses(classes map[int64]*class) {
	for _, c := range classes {
		for _, g := range c.segs {
			if g.data != nil {
				_ = g.close()
			}
		}
		c.segs = nil
		c.free = nil
	}
}
