package monitor

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/httperr"
)

// pageLimit reads the limit= of a listing: def when absent, 1..max when
// given, a 400 naming it otherwise.
func pageLimit(a *fasthttp.Args, def, max int) (int, error) {
	b := a.Peek("limit")
	if len(b) == 0 {
		return def, nil
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 1 || n > max {
		return 0, httperr.BadRequest("limit must be 1..%d, got %q", max, b)
	}
	return n, nil
}
