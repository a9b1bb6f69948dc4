package alarms

import (
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/amroute"
	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
	"github.com/wharfhq/wharf/monitoring/silence"
)

// MaxPostedAlerts bounds the alerts of one POST /api/v2/alerts.
const MaxPostedAlerts = 10_000

// postAlerts takes Alertmanager's postableAlerts: validated as a whole
// (one bad alert refuses the request, 400 naming "[i].labels.x"), then
// published as one wire.Posted. A team token's alerts get its team label
// (a token of several teams must name one of them); ingest and admin
// tokens post any labels.
func (f *Function) postAlerts(r *fnapi.Request) error {
	p := r.Principal
	teams := p.Teams()
	if !p.IsAdmin() && !p.Allows(auth.ScopeIngest) && len(teams) == 0 {
		return httperr.Forbidden("token %q lacks scope to post alerts: need admin, ingest or team:<name>", p.Name)
	}
	var alerts []alarm.PostedAlert
	if err := r.DecodeJSON(&alerts); err != nil {
		return err
	}
	if len(alerts) > MaxPostedAlerts {
		return httperr.BadRequest("at most %d alerts per request, got %d", MaxPostedAlerts, len(alerts))
	}
	forced := ""
	if !p.IsAdmin() && !p.Allows(auth.ScopeIngest) {
		if len(teams) == 1 {
			forced = teams[0]
		}
	}
	var problems fielderr.List
	for i, a := range alerts {
		prefix := "[" + strconv.Itoa(i) + "]"
		problems.Merge(prefix, a.Validate())
		if forced != "" {
			if a.Labels == nil {
				a.Labels = map[string]string{}
			}
			a.Labels["team"] = forced
			alerts[i] = a
		} else if !p.IsAdmin() && !p.Allows(auth.ScopeIngest) && !slices.Contains(teams, a.Labels["team"]) {
			problems.Add(prefix+".labels.team", fmt.Sprintf("must be one of the token's teams %v", teams))
		}
	}
	if len(problems) > 0 {
		return badFields(r, "invalid alerts", problems)
	}
	if len(alerts) == 0 {
		return r.JSON(fasthttp.StatusOK, struct{}{})
	}
	body, err := json.Marshal(wire.Posted{Version: wire.PostedVersion, ReceivedAt: f.opts.Now().UTC(), By: p.Name, Team: forced, Alerts: alerts})
	if err != nil {
		return fmt.Errorf("cannot encode posted alerts: %w", err)
	}
	ctx, cancel := contextWithTimeout(r, f.opts.PublishTimeout)
	defer cancel()
	if err := f.opts.Publisher.Publish(ctx, wire.PostedTopic, body); err != nil {
		he := httperr.Unavailable(err, "cannot queue the alerts; retry")
		he.Headers = map[string]string{"Retry-After": "5"}
		return he
	}
	return r.JSON(fasthttp.StatusOK, struct{}{})
}

// gettableAlert is Alertmanager's gettableAlert.
type gettableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	Receivers    []receiverName    `json:"receivers"`
	Fingerprint  string            `json:"fingerprint"`
	StartsAt     time.Time         `json:"startsAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Status       alertStatus       `json:"status"`
}

type receiverName struct {
	Name string `json:"name"`
}

// alertStatus is Alertmanager's alertStatus.
type alertStatus struct {
	State       string   `json:"state"`
	SilencedBy  []string `json:"silencedBy"`
	InhibitedBy []string `json:"inhibitedBy"`
	MutedBy     []string `json:"mutedBy"`
}

// getAlerts lists the firing cases the caller sees as Alertmanager's
// gettableAlerts: filter= matchers, and the active / silenced /
// inhibited flags (default true) as Alertmanager's. An alert is
// inhibited when one of its team's inhibition rules has a firing source
// among the team's cases (inhibitedBy: the source's fingerprint).
// receivers are those the team's route tree routes the alert to;
// receiver= (a regex) keeps the alerts routed to a matching one.
func (f *Function) getAlerts(r *fnapi.Request) error {
	filter, err := parseFilters(r, "filter")
	if err != nil {
		return err
	}
	flags := map[string]bool{}
	for _, name := range []string{"active", "silenced", "inhibited", "unprocessed"} {
		if flags[name], err = boolArg(r, name, true); err != nil {
			return err
		}
	}
	now := f.opts.Now()
	sils, err := f.silences(r, now)
	if err != nil {
		return err
	}
	var firing []alarm.Case
	byTeam := map[string][]labels.Set{}
	fps := map[string][]string{} // the fingerprints of byTeam's sets
	err = f.eachCase(r, func(c alarm.Case) bool {
		if c.Status() == "firing" {
			firing = append(firing, c)
			byTeam[teamOf(c.Labels)] = append(byTeam[teamOf(c.Labels)], c.Labels)
			fps[teamOf(c.Labels)] = append(fps[teamOf(c.Labels)], c.Fingerprint)
		}
		return true
	})
	if err != nil {
		return err
	}
	recv, err := receiverArg(r)
	if err != nil {
		return err
	}
	rules := map[string][]*silence.InhibitRule{}
	trees := map[string]*amroute.Route{}
	for team := range byTeam {
		if v, ok, err := f.readRoute(r, team); err != nil {
			return err
		} else if ok {
			trees[team], _ = amroute.Compile(v.Config, nil) // stored trees were valid when written
		}
		v, _, err := readDoc[wire.InhibitRules](f, r, inhibitDoc(team))
		if err != nil {
			return err
		}
		for _, c := range v.Rules {
			if ir, err := silence.CompileInhibitRule(c); err == nil {
				rules[team] = append(rules[team], ir)
			}
		}
	}
	out := []gettableAlert{}
	for _, c := range firing {
		if !filter.Matches(c.Labels) {
			continue
		}
		team := teamOf(c.Labels)
		receivers := []receiverName{}
		if tree := trees[team]; tree != nil {
			seen := map[string]bool{}
			for _, rt := range tree.Match(c.Labels) {
				if n := rt.Opts.Receiver; !seen[n] {
					seen[n] = true
					receivers = append(receivers, receiverName{Name: n})
				}
			}
		}
		if recv != nil && !slices.ContainsFunc(receivers, func(n receiverName) bool { return recv.MatchString(n.Name) }) {
			continue
		}
		st := alertStatus{State: "active", SilencedBy: silence.Silenced(sils, c.Labels, now), InhibitedBy: []string{}, MutedBy: []string{}}
		if st.SilencedBy == nil {
			st.SilencedBy = []string{}
		}
		if rule, src := silence.Inhibited(rules[team], byTeam[team], c.Labels); rule != nil && src >= 0 {
			st.InhibitedBy = append(st.InhibitedBy, fps[team][src])
		}
		silenced, inhibited := len(st.SilencedBy) > 0, len(st.InhibitedBy) > 0
		if silenced || inhibited {
			st.State = "suppressed"
		}
		if (!silenced && !inhibited && !flags["active"]) || (silenced && !flags["silenced"]) || (inhibited && !flags["inhibited"]) {
			continue
		}
		ann := c.Annotations
		if ann == nil {
			ann = map[string]string{}
		}
		ends := c.ExpiresAt
		if ends.IsZero() {
			ends = c.EndsAt
		}
		out = append(out, gettableAlert{Labels: c.Labels, Annotations: ann, Receivers: receivers, Fingerprint: c.Fingerprint,
			StartsAt: c.StartsAt, UpdatedAt: c.UpdatedAt, EndsAt: ends, GeneratorURL: c.GeneratorURL, Status: st})
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// receiverArg is the receiver= regex of GET /api/v2/alerts (anchored, as
// Alertmanager's), nil when absent.
func receiverArg(r *fnapi.Request) (*regexp.Regexp, error) {
	v := string(r.Ctx.QueryArgs().Peek("receiver"))
	if v == "" {
		return nil, nil
	}
	re, err := regexp.Compile("^(?:" + v + ")$")
	if err != nil {
		return nil, httperr.BadRequest("receiver must be a regular expression: %v", err)
	}
	return re, nil
}

// statusBody is Alertmanager's alertmanagerStatus.
type statusBody struct {
	Cluster     clusterStatus     `json:"cluster"`
	VersionInfo map[string]string `json:"versionInfo"`
	Config      struct {
		Original string `json:"original"`
	} `json:"config"`
	Uptime time.Time `json:"uptime"`
}

type clusterStatus struct {
	Name   string `json:"name,omitempty"`
	Status string `json:"status"`
	Peers  []any  `json:"peers"`
}

// status answers what amtool reads from GET /api/v2/status. Wharf has no
// Alertmanager configuration file: config.original is a comment saying
// where routes and receivers live.
func (f *Function) status(r *fnapi.Request) error {
	var b statusBody
	b.Cluster = clusterStatus{Status: "ready", Peers: []any{}}
	b.VersionInfo = map[string]string{"version": f.opts.Version, "revision": "", "branch": "", "buildUser": "wharf",
		"buildDate": "", "goVersion": runtime.Version()}
	b.Config.Original = "# Wharf: routes and receivers are per team, see GET /api/v1/routes/{team} and /api/v1/receivers/{team}\n"
	b.Uptime = f.started.UTC()
	return r.JSON(fasthttp.StatusOK, b)
}
