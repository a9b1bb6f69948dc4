package unpack

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

type kind uint8

const (
	kindDir kind = iota + 1
	kindFile
	kindSymlink
)

type linkEntry struct {
	raw, name, target string
}

// extractor is one run of Extract.
type extractor struct {
	ctx   context.Context
	root  *os.Root
	lim   Limits
	seen  map[string]kind
	links []linkEntry
	st    Stats
}

func (x *extractor) run(tr *tar.Reader) (Stats, error) {
	for {
		if err := x.ctx.Err(); err != nil {
			return Stats{}, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return Stats{}, fmt.Errorf("%w: the decompressed stream exceeds the limit", ErrTooLarge)
			}
			return Stats{}, fmt.Errorf("cannot read the archive: %w", err)
		}
		x.st.Entries++
		if x.st.Entries > x.lim.MaxFiles {
			return Stats{}, &EntryError{Name: hdr.Name, Err: fmt.Errorf("%w: more than %d", ErrTooManyFiles, x.lim.MaxFiles)}
		}
		if err := x.entry(tr, hdr); err != nil {
			return Stats{}, &EntryError{Name: hdr.Name, Err: err}
		}
	}
	for _, l := range x.links {
		if err := x.makeLink(l); err != nil {
			return Stats{}, &EntryError{Name: l.raw, Err: err}
		}
	}
	for _, l := range x.links {
		if err := x.checkLink(l); err != nil {
			return Stats{}, &EntryError{Name: l.raw, Err: err}
		}
	}
	return x.st, nil
}

// entry extracts one header (symbolic links are only recorded).
func (x *extractor) entry(tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX global header (git archive writes one): no file
	}
	name, err := cleanName(hdr.Name, x.lim)
	if err != nil {
		return err
	}
	if name == "" {
		if hdr.Typeflag == tar.TypeDir {
			return nil // "./": the root itself
		}
		return fmt.Errorf("%w: empty name", ErrUnsafePath)
	}
	if err := x.claim(name, hdr.Typeflag == tar.TypeDir); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		x.markParents(name)
		return x.root.MkdirAll(name, dirPerm)
	case tar.TypeReg:
		return x.file(tr, hdr, name)
	case tar.TypeSymlink:
		t := hdr.Linkname
		switch {
		case t == "" || strings.ContainsRune(t, 0):
			return fmt.Errorf("%w: empty or NUL in target", ErrLinkEscapes)
		case path.IsAbs(t):
			return fmt.Errorf("%w: absolute target %q", ErrLinkEscapes, t)
		case len(t) > x.lim.MaxPathLen:
			return fmt.Errorf("%w: target of %d bytes", ErrNameTooLong, len(t))
		}
		x.markParents(name)
		x.seen[name] = kindSymlink
		x.links = append(x.links, linkEntry{raw: hdr.Name, name: name, target: t})
		return nil
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname, x.lim)
		if err != nil {
			return fmt.Errorf("%w: hard link target: %w", ErrLinkEscapes, err)
		}
		if x.seen[target] != kindFile {
			return fmt.Errorf("%w: hard link to %q, which is not a file extracted earlier", ErrLinkEscapes, hdr.Linkname)
		}
		if err := x.parents(name); err != nil {
			return err
		}
		x.seen[name] = kindFile
		return x.root.Link(target, name)
	}
	return fmt.Errorf("%w: %s", ErrUnsupportedType, typeName(hdr.Typeflag))
}

// claim records name, refusing duplicates and paths under files or links.
func (x *extractor) claim(name string, dir bool) error {
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		switch x.seen[name[:i]] {
		case kindFile:
			return fmt.Errorf("%w: %q is a file", ErrDuplicate, name[:i])
		case kindSymlink:
			return fmt.Errorf("%w: %q is a symbolic link", ErrDuplicate, name[:i])
		}
	}
	if k, ok := x.seen[name]; ok && !(dir && k == kindDir) {
		return fmt.Errorf("%w: %q appears twice", ErrDuplicate, name)
	}
	if dir {
		x.seen[name] = kindDir
	}
	return nil
}

const (
	dirPerm  = 0o755
	filePerm = 0o644
)

// markParents records name's parent directories (claim has checked that
// none is a file or link).
func (x *extractor) markParents(name string) {
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if _, ok := x.seen[d]; ok {
			return
		}
		x.seen[d] = kindDir
	}
}

// parents creates name's parent directories and records them.
func (x *extractor) parents(name string) error {
	x.markParents(name)
	if dir := path.Dir(name); dir != "." {
		return x.root.MkdirAll(dir, dirPerm)
	}
	return nil
}

// file writes a regular file, counting its bytes against the limit.
func (x *extractor) file(tr *tar.Reader, hdr *tar.Header, name string) error {
	left := x.lim.MaxBytes - x.st.Bytes
	if hdr.Size > left {
		return fmt.Errorf("%w: %d more bytes would exceed %d", ErrTooLarge, hdr.Size, x.lim.MaxBytes)
	}
	if err := x.parents(name); err != nil {
		return err
	}
	x.seen[name] = kindFile
	perm := fs.FileMode(filePerm)
	if hdr.Mode&0o100 != 0 {
		perm = 0o755
	}
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, &ctxReader{ctx: x.ctx, r: io.LimitReader(tr, left+1)})
	x.st.Bytes += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case errors.Is(err, ErrTooLarge) || x.st.Bytes > x.lim.MaxBytes:
		return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, x.lim.MaxBytes)
	case err != nil:
		return err
	}
	return nil
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// makeLink creates a recorded symbolic link; its target was checked not to
// be absolute, and checkLink checks where it leads once all links exist.
func (x *extractor) makeLink(l linkEntry) error {
	if err := x.parents(l.name); err != nil {
		return err
	}
	return x.root.Symlink(l.target, l.name)
}

// checkLink resolves a link in the finished tree, following other links,
// and fails if it leaves the root at any step.
func (x *extractor) checkLink(l linkEntry) error {
	var cur []string
	if d := path.Dir(l.name); d != "." {
		cur = strings.Split(d, "/")
	}
	depth := 0
	if _, err := x.resolve(cur, l.target, &depth); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrLinkEscapes, l.target, err)
	}
	return nil
}

var errOutside = errors.New("resolves outside the root")

// resolve walks target from the directory cur (components below the root),
// following links, and returns the directory components reached.
func (x *extractor) resolve(cur []string, target string, depth *int) ([]string, error) {
	if path.IsAbs(target) {
		return nil, errors.New("absolute target")
	}
	cur = append([]string(nil), cur...)
	missing := false
	for s := range strings.SplitSeq(target, "/") {
		switch s {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return nil, errOutside
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := append(cur, s)
		if missing {
			cur = next // below a missing component everything is lexical
			continue
		}
		p := strings.Join(next, "/")
		fi, err := x.root.Lstat(p)
		if err != nil {
			missing = true // dangling: the rest cannot point anywhere real
			cur = next
			continue
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if *depth++; *depth > maxLinkDepth {
			return nil, errors.New("too many levels of symbolic links")
		}
		t, err := x.root.Readlink(p)
		if err != nil {
			return nil, err
		}
		if cur, err = x.resolve(cur, t, depth); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "named pipe"
	case tar.TypeCont:
		return "contiguous file"
	case tar.TypeGNUSparse:
		return "sparse file"
	}
	return fmt.Sprintf("type %q", t)
}
