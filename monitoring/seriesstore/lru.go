package seriesstore

import "container/list"

// openFiles keeps at most max series files open, least recently used
// closed first (its header written back if dirty).
type openFiles struct {
	max   int
	order *list.List // of *seriesFile, most recent first
	byKey map[string]*list.Element
}

func newOpenFiles(max int) *openFiles {
	return &openFiles{max: max, order: list.New(), byKey: make(map[string]*list.Element)}
}

func (o *openFiles) get(key string) *seriesFile {
	e, ok := o.byKey[key]
	if !ok {
		return nil
	}
	o.order.MoveToFront(e)
	return e.Value.(*seriesFile)
}

// add adds sf and returns the files that must now be closed.
func (o *openFiles) add(sf *seriesFile, evicted []*seriesFile) []*seriesFile {
	o.byKey[sf.key] = o.order.PushFront(sf)
	for o.order.Len() > o.max {
		e := o.order.Back()
		old := e.Value.(*seriesFile)
		o.order.Remove(e)
		delete(o.byKey, old.key)
		evicted = append(evicted, old)
	}
	return evicted
}

func (o *openFiles) remove(key string) *seriesFile {
	e, ok := o.byKey[key]
	if !ok {
		return nil
	}
	o.order.Remove(e)
	delete(o.byKey, key)
	return e.Value.(*seriesFile)
}

func (o *openFiles) all() []*seriesFile {
	out := make([]*seriesFile, 0, o.order.Len())
	for e := o.order.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*seriesFile))
	}
	return out
}
