package ab

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// sdkKeyInput is the body of POST /fn/ab/sdk-keys.
type sdkKeyInput struct {
	Team string `json:"team"`
}

// SDKKey answers POST /fn/ab/sdk-keys.
type SDKKey struct {
	ClientKey string `json:"client_key"`
	Team      string `json:"team"`
}

// createSDKKey answers POST /fn/ab/sdk-keys: a new client key for the
// team's GrowthBook payload. A client key is public like GrowthBook's (SDKs
// in browsers carry it): it reads the team's running experiments, nothing
// else.
func (f *Function) createSDKKey(r *fnapi.Request) error {
	var in sdkKeyInput
	if len(r.Ctx.PostBody()) > 0 {
		if err := r.DecodeJSON(&in); err != nil {
			return err
		}
	}
	team, err := callerTeam(r.Principal, in.Team, "team")
	if err != nil {
		return err
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	key := "sdk-" + hex.EncodeToString(b[:])
	v := sdkKey{Team: team}
	v.Touch(r.Principal.Name, f.opts.Now().UTC())
	if err := f.create(r, sdkKeyKey(key), v, "client key"); err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusCreated, SDKKey{ClientKey: key, Team: team})
}

// SDKKeyList answers GET /fn/ab/sdk-keys.
type SDKKeyList struct {
	Keys []SDKKeyInfo `json:"keys"`
}

// SDKKeyInfo is one client key with who created it and when.
type SDKKeyInfo struct {
	ClientKey string    `json:"client_key"`
	Team      string    `json:"team"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// listSDKKeys answers GET /fn/ab/sdk-keys: the client keys of the teams
// the caller sees.
func (f *Function) listSDKKeys(r *fnapi.Request) error {
	out := SDKKeyList{Keys: []SDKKeyInfo{}}
	for e, err := range store.Entries(r.Context(), f.opts.Store, sdkKeyPrefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return httperr.Unavailable(err, "cannot list client keys")
		}
		var k sdkKey
		if json.Unmarshal(e.Value, &k) != nil || !sees(r.Principal, k.Team) {
			continue
		}
		out.Keys = append(out.Keys, SDKKeyInfo{ClientKey: strings.TrimPrefix(e.Key, sdkKeyPrefix), Team: k.Team, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt})
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// revokeSDKKey answers DELETE /fn/ab/sdk-keys/{clientKey}: 204; the
// payload answers 404 for the key on every node once their snapshots
// follow. A key of another team answers 404 like an unknown one.
func (f *Function) revokeSDKKey(r *fnapi.Request) error {
	key := sdkKeyKey(r.Params.Get("clientKey"))
	var k sdkKey
	ctx, cancel := f.storeCtx(r)
	ver, err := f.load(ctx, key, &k, "client key")
	cancel()
	if err != nil {
		return err
	}
	if !sees(r.Principal, k.Team) {
		return httperr.NotFound("client key not found")
	}
	return f.deleteAt(r, key, ver, "client key")
}

// gbPayload is GrowthBook's SDK payload (GET /api/features/{clientKey}).
type gbPayload struct {
	Status      int                  `json:"status"`
	Features    map[string]gbFeature `json:"features"`
	Experiments []gbExperiment       `json:"experiments"`
	DateUpdated string               `json:"dateUpdated,omitempty"`
}

type gbFeature struct {
	DefaultValue json.RawMessage `json:"defaultValue"`
	Rules        []gbRule        `json:"rules,omitempty"`
}

type gbFilter struct {
	Seed        string       `json:"seed"`
	Ranges      [][2]float64 `json:"ranges"`
	Attribute   string       `json:"attribute,omitempty"`
	HashVersion int          `json:"hashVersion"`
}

type gbMeta struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
}

type gbRule struct {
	ID            string            `json:"id,omitempty"`
	Condition     map[string]any    `json:"condition,omitempty"`
	Force         json.RawMessage   `json:"force,omitempty"`
	Key           string            `json:"key,omitempty"`
	Variations    []json.RawMessage `json:"variations,omitempty"`
	Weights       []float64         `json:"weights,omitempty"`
	Coverage      *float64          `json:"coverage,omitempty"`
	Namespace     []any             `json:"namespace,omitempty"`
	HashAttribute string            `json:"hashAttribute,omitempty"`
	HashVersion   int               `json:"hashVersion,omitempty"`
	Seed          string            `json:"seed,omitempty"`
	Range         *[2]float64       `json:"range,omitempty"`
	Filters       []gbFilter        `json:"filters,omitempty"`
	Meta          []gbMeta          `json:"meta,omitempty"`
	Name          string            `json:"name,omitempty"`
	Phase         string            `json:"phase,omitempty"`
}

type gbExperiment struct {
	Key           string            `json:"key"`
	Variations    []json.RawMessage `json:"variations"`
	Weights       []float64         `json:"weights"`
	Coverage      float64           `json:"coverage"`
	Condition     map[string]any    `json:"condition,omitempty"`
	Namespace     []any             `json:"namespace,omitempty"`
	HashAttribute string            `json:"hashAttribute"`
	HashVersion   int               `json:"hashVersion"`
	Seed          string            `json:"seed"`
	Meta          []gbMeta          `json:"meta,omitempty"`
}

// features answers GET /api/features/{clientKey}: the running experiments
// of the key's team as GrowthBook features (one per experiment, keyed by
// the experiment key: forced ids, then the holdout, then the experiment
// rule) and experiments. An unknown key is 404.
func (f *Function) features(r *fnapi.Request) error {
	st := f.snapshot()
	team, ok := st.sdkKeys[r.Params.Get("clientKey")]
	if !ok {
		return httperr.NotFound("unknown client key")
	}
	p := gbPayload{Status: 200, Features: map[string]gbFeature{}, Experiments: []gbExperiment{}}
	for _, c := range st.snap.Running[team] {
		feat, gx := growthbook(c)
		p.Features[c.Exp.Key] = feat
		p.Experiments = append(p.Experiments, gx)
	}
	return r.JSON(fasthttp.StatusOK, p)
}

// growthbook renders c as a GrowthBook feature and experiment.
func growthbook(c *experiment.Compiled) (gbFeature, gbExperiment) {
	e := &c.Exp
	values := make([]json.RawMessage, len(e.Variations))
	meta := make([]gbMeta, len(e.Variations))
	for i, v := range e.Variations {
		values[i] = c.Value(i)
		meta[i] = gbMeta{Key: strconv.Itoa(i), Name: v.Name}
	}
	var ns []any
	var filters []gbFilter
	if c.LayerSalt != "" {
		start, end := float64(e.Range[0])/experiment.Buckets, float64(e.Range[1])/experiment.Buckets
		ns = []any{c.LayerSalt, start, end}
		filters = []gbFilter{{Seed: "__" + c.LayerSalt, Ranges: [][2]float64{{start, end}}, Attribute: e.HashAttribute, HashVersion: 1}}
	}
	feat := gbFeature{DefaultValue: json.RawMessage("null")}
	byVar := map[int][]string{}
	for id, v := range e.Forced {
		byVar[v] = append(byVar[v], id)
	}
	for v := range e.Variations {
		if ids := byVar[v]; len(ids) > 0 {
			feat.Rules = append(feat.Rules, gbRule{ID: e.Key + "-forced-" + strconv.Itoa(v),
				Condition: map[string]any{e.HashAttribute: map[string]any{"$in": ids}}, Force: c.Value(v)})
		}
	}
	if e.Holdout > 0 {
		feat.Rules = append(feat.Rules, gbRule{ID: e.Key + "-holdout", Condition: e.Condition, Force: c.Value(0),
			Range: &[2]float64{0, e.Holdout}, Seed: experiment.HoldoutSeedPrefix + c.Seed(), HashVersion: 2,
			HashAttribute: e.HashAttribute, Filters: filters})
	}
	cov := e.Coverage
	feat.Rules = append(feat.Rules, gbRule{ID: e.Key, Key: e.Key, Condition: e.Condition, Variations: values,
		Weights: e.Weights(), Coverage: &cov, Namespace: ns, HashAttribute: e.HashAttribute,
		HashVersion: e.HashVersion, Seed: c.Seed(), Meta: meta, Phase: strconv.Itoa(e.BucketVersion)})
	gx := gbExperiment{Key: e.Key, Variations: values, Weights: e.Weights(), Coverage: e.Coverage, Condition: e.Condition,
		Namespace: ns, HashAttribute: e.HashAttribute, HashVersion: e.HashVersion, Seed: c.Seed(), Meta: meta}
	return feat, gx
}
