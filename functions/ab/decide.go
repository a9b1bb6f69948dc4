package ab

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// MaxUnitBytes caps the unit id of a decision or event.
const MaxUnitBytes = 200

// decideInput is the body of POST /fn/ab/decide.
type decideInput struct {
	Unit       string         `json:"unit"`
	Attributes map[string]any `json:"attributes"`
	// Team is the team whose experiments decide; default the token's only team.
	Team string `json:"team"`
	// Explain lists every running experiment with the reason the unit is
	// in or out.
	Explain bool `json:"explain"`
}

// Decision is the answer of the decide routes (the JSON is written by
// appendDecision; this type documents it and decodes it in clients).
type Decision struct {
	Unit string `json:"unit"`
	Team string `json:"team"`
	// SetVersion identifies the set of experiments the decision was made
	// with (experiment.Snapshot.Version).
	SetVersion  string       `json:"set_version"`
	Assignments []Assignment `json:"assignments"`
}

// Assignment is one experiment's decision for the unit.
type Assignment struct {
	Experiment string `json:"experiment"`
	Layer      string `json:"layer,omitempty"`
	// InExperiment is false for units out of it (listed with explain, or
	// in the holdout).
	InExperiment  bool   `json:"in_experiment"`
	Variation     int    `json:"variation"`
	VariationName string `json:"variation_name,omitempty"`
	// Value is the variation's JSON value (the control's for a unit in
	// the holdout).
	Value         json.RawMessage `json:"value,omitempty"`
	Bucket        int             `json:"bucket"`
	Hash          float64         `json:"hash"`
	HashVersion   int             `json:"hash_version"`
	BucketVersion int             `json:"bucket_version"`
	Forced        bool            `json:"forced,omitempty"`
	Holdout       bool            `json:"holdout,omitempty"`
	Reason        string          `json:"reason,omitempty"`
}

// decideAll answers POST /fn/ab/decide: every running experiment of the
// team decided for the unit, from the in-memory snapshot.
func (f *Function) decideAll(r *fnapi.Request) error {
	var in decideInput
	if err := parseDecide(r.Ctx.PostBody(), &in); err != nil {
		return httperr.BadRequest("%v", err)
	}
	if errs := checkUnit(in.Unit, "unit"); len(errs) > 0 {
		return badFields(r, "invalid decision request", errs)
	}
	team, err := callerTeam(r.Principal, in.Team, "team")
	if err != nil {
		return err
	}
	attrs := withUnit(in.Attributes, in.Unit)
	st := f.snapshot()
	buf := appendDecisionHead(make([]byte, 0, 512), in.Unit, team, st.snap.Version)
	first := true
	var pos experiment.Positions
	for _, c := range st.snap.Running[team] {
		buf, first = f.appendOne(buf, st, c, attrs, &pos, in.Explain, first)
	}
	buf = append(buf, "]}\n"...)
	f.m.decisions.Inc()
	writeRaw(r, buf)
	return nil
}

// decideOne answers GET /fn/ab/decide/{experiment}?unit=[&team=][&explain=true][&attr.NAME=VALUE...].
func (f *Function) decideOne(r *fnapi.Request) error {
	q := r.Ctx.QueryArgs()
	unit := string(q.Peek("unit"))
	if errs := checkUnit(unit, "unit"); len(errs) > 0 {
		return badFields(r, "invalid decision request", errs)
	}
	team, err := callerTeam(r.Principal, string(q.Peek("team")), "team")
	if err != nil {
		return err
	}
	explain := false
	switch v := string(q.Peek("explain")); v {
	case "", "false", "0":
	case "true", "1":
		explain = true
	default:
		return badFields(r, "invalid decision request", fielderr.List{{Field: "explain", Msg: "must be true or false"}})
	}
	attrs := map[string]any{}
	for k, v := range q.All() {
		if name, ok := cutPrefix(k, "attr."); ok {
			attrs[name] = string(v)
		}
	}
	attrs = withUnit(attrs, unit)
	st := f.snapshot()
	c := st.snap.Find(team, r.Params.Get("experiment"))
	if c == nil {
		return httperr.NotFound("experiment %q is not running", r.Params.Get("experiment"))
	}
	buf := appendDecisionHead(make([]byte, 0, 256), unit, team, st.snap.Version)
	a := c.Decide(attrs)
	f.countExposure(st, c, a)
	buf = appendAssignment(buf, c, a, explain)
	buf = append(buf, "]}\n"...)
	f.m.decisions.Inc()
	writeRaw(r, buf)
	return nil
}

func cutPrefix(b []byte, p string) (string, bool) {
	if len(b) < len(p) || string(b[:len(p)]) != p {
		return "", false
	}
	return string(b[len(p):]), true
}

// checkUnit checks a unit id.
func checkUnit(unit, field string) fielderr.List {
	var errs fielderr.List
	if unit == "" || len(unit) > MaxUnitBytes || !utf8.ValidString(unit) {
		errs.Add(field, "must be 1-200 bytes of UTF-8 text")
	}
	return errs
}

// withUnit sets attrs["id"] to unit unless the attributes name an id.
func withUnit(attrs map[string]any, unit string) map[string]any {
	if attrs == nil {
		attrs = make(map[string]any, 1)
	}
	if _, ok := attrs["id"]; !ok {
		attrs["id"] = unit
	}
	return attrs
}

// appendOne decides c for attrs, counts the exposure and appends the
// assignment when the unit is in (or in the holdout, or explain is set).
func (f *Function) appendOne(buf []byte, st *state, c *experiment.Compiled, attrs map[string]any, pos *experiment.Positions, explain, first bool) ([]byte, bool) {
	a := c.DecideAt(attrs, pos)
	f.countExposure(st, c, a)
	if !a.In() && !a.Holdout && !explain {
		return buf, first
	}
	if !first {
		buf = append(buf, ',')
	}
	return appendAssignment(buf, c, a, explain), false
}

func appendDecisionHead(buf []byte, unit, team, version string) []byte {
	buf = append(buf, `{"unit":`...)
	buf = appendJSONString(buf, unit)
	buf = append(buf, `,"team":`...)
	buf = appendJSONString(buf, team)
	buf = append(buf, `,"set_version":`...)
	buf = appendJSONString(buf, version)
	return append(buf, `,"assignments":[`...)
}

// appendAssignment appends the JSON of Assignment for a.
func appendAssignment(buf []byte, c *experiment.Compiled, a experiment.Assignment, explain bool) []byte {
	e := &c.Exp
	buf = append(buf, `{"experiment":`...)
	buf = appendJSONString(buf, e.Key)
	if e.Layer != "" {
		buf = append(buf, `,"layer":`...)
		buf = appendJSONString(buf, e.Layer)
	}
	buf = append(buf, `,"in_experiment":`...)
	buf = strconv.AppendBool(buf, a.In())
	buf = append(buf, `,"variation":`...)
	buf = strconv.AppendInt(buf, int64(a.Variation), 10)
	shown := a.Variation
	if a.Holdout {
		shown = 0
	}
	if shown >= 0 {
		if n := e.Variations[shown].Name; n != "" {
			buf = append(buf, `,"variation_name":`...)
			buf = appendJSONString(buf, n)
		}
		buf = append(buf, `,"value":`...)
		buf = append(buf, c.Value(shown)...)
	}
	buf = append(buf, `,"bucket":`...)
	buf = strconv.AppendInt(buf, int64(a.Bucket), 10)
	buf = append(buf, `,"hash":`...)
	buf = strconv.AppendFloat(buf, a.Hash, 'g', -1, 64)
	buf = append(buf, `,"hash_version":`...)
	buf = strconv.AppendInt(buf, int64(e.HashVersion), 10)
	buf = append(buf, `,"bucket_version":`...)
	buf = strconv.AppendInt(buf, int64(e.BucketVersion), 10)
	if a.Forced {
		buf = append(buf, `,"forced":true`...)
	}
	if a.Holdout {
		buf = append(buf, `,"holdout":true`...)
	}
	if explain {
		buf = append(buf, `,"reason":`...)
		buf = appendJSONString(buf, a.Reason)
	}
	return append(buf, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}

// writeRaw answers 200 with the JSON in buf.
func writeRaw(r *fnapi.Request, buf []byte) {
	r.Ctx.SetStatusCode(fasthttp.StatusOK)
	r.Ctx.SetContentType("application/json")
	r.Ctx.SetBody(buf)
}

// countExposure counts a unit's exposure to its hashed variation and
// records the unit as exposed (exposed.go); forced units are neither
// counted nor recorded, since the split of exposures (the SRM check) and
// the population of results are those of hashing. A unit that is not a
// valid unit id (the value of a hash attribute other than unit: longer
// than MaxUnitBytes or not UTF-8) is counted but not recorded.
func (f *Function) countExposure(st *state, c *experiment.Compiled, a experiment.Assignment) {
	if a.In() && !a.Forced {
		ctr := st.counters[c.Index]
		ctr.counts[a.Variation].Add(1)
		if len(a.Unit) <= MaxUnitBytes && utf8.ValidString(a.Unit) {
			f.recordExposure(ctr, a.Unit, a.Variation)
		} else {
			f.m.exposedSkipped.Inc()
		}
	}
}
