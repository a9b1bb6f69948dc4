package fielderr

import (
	"errors"
	"testing"
)

func TestListJoinsPaths(t *testing.T) {
	t.Parallel()
	var inner List
	inner.Add("matchers[0]", "bad matcher")
	inner.Add("[2]", "empty")
	var l List
	if l.Err() != nil {
		t.Fatal("empty list is an error")
	}
	l.Add("receiver", "required")
	l.Merge("routes[1]", inner)
	want := "receiver: required; routes[1].matchers[0]: bad matcher; routes[1][2]: empty"
	if err := l.Err(); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	var got List
	if !errors.As(l.Err(), &got) || len(got) != 3 {
		t.Fatalf("errors.As: %v", got)
	}
	if Join("", "a") != "a" || Join("a", "") != "a" {
		t.Fatal("Join with an empty part")
	}
}
