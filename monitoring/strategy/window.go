package strategy

import "fmt"

// noWindow is a RunWindow that is always active.
var noWindow = RunWindow{Begin: -1, End: -1}

// RunWindow is when a strategy is judged, as minutes of the day of the
// judge's clock; Begin > End is a window across midnight. Begin and End
// are both -1 for "always".
type RunWindow struct {
	Begin, End int
}

// Always reports whether the window covers the whole day.
func (w RunWindow) Always() bool { return w.Begin < 0 }

// Active reports whether minute (0..1439) of the day is inside the window,
// both ends included, as Falcon's HBS selects strategies: Begin <= m <= End,
// or for a window across midnight m >= Begin or m <= End.
func (w RunWindow) Active(minute int) bool {
	if w.Begin < 0 {
		return true
	}
	if w.Begin <= w.End {
		return w.Begin <= minute && minute <= w.End
	}
	return minute >= w.Begin || minute <= w.End
}

// ParseClock reads "HH:MM" (00:00 .. 23:59) as a minute of the day.
func ParseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' || !digit(s[0]) || !digit(s[1]) || !digit(s[3]) || !digit(s[4]) {
		return 0, fmt.Errorf("%q is not HH:MM, e.g. 09:30", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("%q is not a time of day 00:00..23:59", s)
	}
	return h*60 + m, nil
}

func digit(c byte) bool { return c >= '0' && c <= '9' }
