package judge

import (
	"testing"

	"github.com/wharfhq/wharf/monitoring/event"
)

func FuzzUnmarshalState(f *testing.F) {
	st := State{Endpoint: "web-1", Metric: "m", Tags: map[string]string{"a": "b"}, Step: 60,
		Points: []Sample{{60, 1}, {120, 2}}, Last: LastEvent{Status: event.OK, Step: 1, Time: 120}}
	b, _ := st.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var st State
		if err := st.UnmarshalBinary(b); err != nil {
			return
		}
		for i := 1; i < len(st.Points); i++ {
			if st.Points[i].T <= st.Points[i-1].T {
				t.Fatalf("decoded points out of order: %v", st.Points)
			}
		}
		again, err := st.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var st2 State
		if err := st2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
	})
}
