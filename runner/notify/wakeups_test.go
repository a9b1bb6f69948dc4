package notify

import (
	"slices"
	"testing"
)

// The wake-ups keep the earliest due time per queue and hand out the
// queues due at a given time, earliest remaining next.
func TestWakeupsTakeDueQueues(t *testing.T) {
	var w wakeups
	a, b, c := queueRef{"shop", "a"}, queueRef{"shop", "b"}, queueRef{"shop", "c"}
	w.add(a, 1500)
	w.add(a, 1200) // earlier wins
	w.add(a, 1900)
	w.add(b, 1000)
	w.add(c, 3000)
	if got := w.earliest(); got != 1000 {
		t.Fatalf("earliest %d, want 1000", got)
	}
	due, next := w.take(999)
	if len(due) != 0 || next != 1000 {
		t.Fatalf("at 999: due %v next %d, want none and 1000", due, next)
	}
	due, next = w.take(1200)
	slices.SortFunc(due, func(x, y queueRef) int { return compareRef(x, y) })
	if !slices.Equal(due, []queueRef{a, b}) || next != 3000 {
		t.Fatalf("at 1200: due %v next %d, want [a b] and 3000", due, next)
	}
	if due, _ = w.take(1200); len(due) != 0 {
		t.Fatalf("taken twice: %v", due)
	}
	due, next = w.take(5000)
	if !slices.Equal(due, []queueRef{c}) || next != 0 || w.earliest() != 0 {
		t.Fatalf("at 5000: due %v next %d earliest %d", due, next, w.earliest())
	}
}

func compareRef(x, y queueRef) int {
	switch {
	case x.String() < y.String():
		return -1
	case x.String() > y.String():
		return 1
	}
	return 0
}
