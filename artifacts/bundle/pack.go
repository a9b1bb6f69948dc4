package bundle

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// PackOptions tunes Pack.
type PackOptions struct {
	// Compression defaults to Gzip.
	Compression Compression
}

// PackResult describes a packed bundle.
type PackResult struct {
	// Manifest is the bundle's validated wharf.yaml.
	Manifest *Manifest
	// Files counts the entries written (directories and links included).
	Files int
	// Bytes is the total size of the regular files, uncompressed.
	Bytes int64
}

// Pack writes the directory dir to w as a compressed tar stream, without a
// temporary file. It validates dir/wharf.yaml first and writes nothing if
// that fails (the error wraps *ManifestError). Paths matched by
// dir/.wharfignore are left out; wharf.yaml itself never is.
//
// The stream is deterministic: wharf.yaml comes first (so a server can read
// it from the stream's first bytes), then every other entry in byte order of
// its path; modification times are the Unix epoch; owners are 0 and
// nameless; file modes are 0755 when the owner may execute, else 0644, and
// directories are 0755. Symbolic links are kept as links and must point
// inside dir; sockets, devices and named pipes are refused. Everything is
// read through an os.Root, so nothing outside dir is read.
func Pack(ctx context.Context, dir string, w io.Writer, opts PackOptions) (*PackResult, error) {
	if opts.Compression == 0 {
		opts.Compression = Gzip
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot pack: %w", err)
	}
	defer root.Close()
	data, err := root.ReadFile(ManifestName)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot pack %s: %w", dir, &ManifestError{Problems: []*FieldError{{Msg: "no " + ManifestName + " at the bundle's root"}}})
		}
		return nil, fmt.Errorf("cannot pack: %w", err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("cannot pack %s: %w", dir, err)
	}
	var ig *Ignore
	if data, err := root.ReadFile(IgnoreName); err == nil {
		if ig, err = ParseIgnore(data); err != nil {
			return nil, fmt.Errorf("cannot pack: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot pack: %w", err)
	}
	entries, err := collect(ctx, root, ig)
	if err != nil {
		return nil, err
	}
	res := &PackResult{Manifest: m}
	zw, err := newWriter(w, opts.Compression)
	if err != nil {
		return nil, fmt.Errorf("cannot pack: %w", err)
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("cannot pack: %w", err)
		}
		n, err := writeEntry(root, tw, e)
		if err != nil {
			return nil, fmt.Errorf("cannot pack %s: %w", e.name, err)
		}
		res.Files++
		res.Bytes += n
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("cannot pack: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("cannot pack: %w", err)
	}
	return res, nil
}

type packEntry struct {
	name string
	mode fs.FileMode // type bits and permissions from Lstat
	link string
}

// collect walks the tree (without following links), applying the ignore
// rules, and returns the entries in stream order.
func collect(ctx context.Context, root *os.Root, ig *Ignore) ([]packEntry, error) {
	var out []packEntry
	err := fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("cannot pack %s: %w", name, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cannot pack: %w", err)
		}
		if name == "." {
			return nil
		}
		if name != ManifestName && ig.Match(name, d.IsDir()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		e := packEntry{name: name, mode: d.Type()}
		switch t := d.Type(); {
		case t.IsDir():
		case t.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("cannot pack %s: %w", name, err)
			}
			e.mode = fi.Mode()
		case t&fs.ModeSymlink != 0:
			link, err := root.Readlink(name)
			if err != nil {
				return fmt.Errorf("cannot pack %s: %w", name, err)
			}
			if path.IsAbs(link) || !localLink(name, link) {
				return fmt.Errorf("cannot pack %s: symbolic link to %q points outside the bundle", name, link)
			}
			e.link = link
		default:
			return fmt.Errorf("cannot pack %s: %v files cannot be bundled", name, t.Type())
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b packEntry) int {
		switch {
		case a.name == ManifestName:
			return -1
		case b.name == ManifestName:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

// localLink reports whether a relative link target, taken from the link's
// directory, stays inside the tree lexically.
func localLink(name, target string) bool {
	p := path.Join(path.Dir(name), target)
	return p != ".." && !strings.HasPrefix(p, "../")
}

// writeEntry writes one entry and returns the bytes of content written.
func writeEntry(root *os.Root, tw *tar.Writer, e packEntry) (int64, error) {
	// Every entry has the Unix epoch as its time: equal trees, equal bytes.
	hdr := &tar.Header{Name: e.name, ModTime: time.Unix(0, 0)}
	switch {
	case e.mode.IsDir():
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, e.name+"/", 0o755
		return 0, tw.WriteHeader(hdr)
	case e.mode&fs.ModeSymlink != 0:
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.link, 0o777
		return 0, tw.WriteHeader(hdr)
	}
	f, err := root.Open(e.name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("changed into a %v while packing", fi.Mode().Type())
	}
	hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, fi.Size(), 0o644
	if fi.Mode()&0o100 != 0 {
		hdr.Mode = 0o755
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return 0, err
	}
	n, err := io.CopyN(tw, f, hdr.Size)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return n, fmt.Errorf("shrank while packing (%d of %d bytes)", n, hdr.Size)
		}
		return n, err
	}
	return n, nil
}
