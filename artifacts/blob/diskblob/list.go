package diskblob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/artifacts/blob"
)

// List implements blob.Backend. It walks only the directories that can hold
// keys with the prefix after opts.After, in key order, and stops once the
// page is full.
func (b *Backend) List(ctx context.Context, prefix string, opts blob.ListOptions) (blob.Page, error) {
	if err := blob.CheckPrefix(prefix); err != nil {
		return blob.Page{}, fmt.Errorf("cannot list: %w", err)
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = blob.DefaultListLimit
	}
	w := &walker{b: b, ctx: ctx, prefix: prefix, after: opts.After, max: limit + 1}
	dirKey := prefix[:strings.LastIndexByte(prefix, '/')+1]
	if err := w.walk(dirKey); err != nil {
		return blob.Page{}, err
	}
	page := blob.Page{Items: w.out}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.Next = page.Items[limit-1].Key
	}
	return page, nil
}

type walker struct {
	b      *Backend
	ctx    context.Context
	prefix string
	after  string
	max    int
	out    []blob.Info
}

// entry is a directory entry with the key (or key prefix, for directories,
// ending in "/") it stands for; sorting by it yields global key order.
type entry struct {
	key string
	dir bool
	fs.DirEntry
}

// walk lists the directory holding keys that start with dirKey ("" or
// ending in "/").
func (w *walker) walk(dirKey string) error {
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("cannot list: %w", err)
	}
	d, err := w.b.root.Open(objectsDir + "/" + dirKey)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return unavailable("list "+dirKey, err)
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return unavailable("list "+dirKey, err)
	}
	list := make([]entry, 0, len(ents))
	for _, e := range ents {
		switch name := e.Name(); {
		case e.IsDir():
			list = append(list, entry{key: dirKey + name + "/", dir: true, DirEntry: e})
		case e.Type().IsRegular() && strings.HasSuffix(name, blobSuffix):
			list = append(list, entry{key: dirKey + strings.TrimSuffix(name, blobSuffix), DirEntry: e})
		}
	}
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, e := range list {
		if e.dir {
			// Descend only where keys with the prefix, after After, can be.
			if !strings.HasPrefix(e.key, w.prefix) && !strings.HasPrefix(w.prefix, e.key) {
				continue
			}
			if w.after >= e.key && !strings.HasPrefix(w.after, e.key) {
				continue
			}
			if err := w.walk(e.key); err != nil {
				return err
			}
		} else {
			if !strings.HasPrefix(e.key, w.prefix) || e.key <= w.after {
				continue
			}
			fi, err := e.Info()
			if err != nil || fi.Size() < headerSize {
				continue // deleted meanwhile, or not a blob file
			}
			w.out = append(w.out, blob.Info{Key: e.key, Size: fi.Size() - headerSize, Modified: fi.ModTime()})
		}
		if len(w.out) >= w.max {
			return nil
		}
	}
	return nil
}
