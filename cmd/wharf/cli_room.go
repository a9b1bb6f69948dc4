package main

import (
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/cliout"

	"github.com/wharfhq/wharf/gateway/rooms"
	"github.com/wharfhq/wharf/internal/config"
)

// newRoomCmd is `wharf room`: room policies and switches of services.
func newRoomCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "room", Short: "Rooms (datacenters) of a service: policy, switches, failover (admin)"}
	cmd.AddCommand(newRoomShowCmd(stdout), newRoomPolicyCmd(stdout),
		newRoomSwitchCmd(stdout, "switch SERVICE --to ROOM", "Move all of a service's traffic to one room, at once or in steps",
			"  wharf room switch shop --to sh\n  wharf room switch shop --to sh --steps 10,50,100 --interval 1m --why 'bj maintenance'"),
		newRoomSwitchCmd(stdout, "weights SERVICE ROOM=WEIGHT...", "Set a service's room weights, at once or in steps",
			"  wharf room weights shop bj=20 sh=80\n  wharf room weights shop bj=0 sh=100 --steps 10,50,100 --interval 30s"),
		newRoomActionCmd(stdout, "pause"), newRoomActionCmd(stdout, "resume"), newRoomActionCmd(stdout, "abort"),
		newRoomHistoryCmd(stdout))
	return cmd
}

func roomPath(svc string) string { return "/api/v1/rooms/" + url.PathEscape(svc) }

func newRoomShowCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	c := &cobra.Command{
		Use: "show SERVICE", Short: "Show a service's room policy, weights in effect, switch and live failover state", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out struct {
				Service string         `json:"service"`
				Policy  *rooms.Policy  `json:"policy"`
				Weights map[string]int `json:"weights"`
				Switch  *rooms.Record  `json:"switch"`
				Live    *struct {
					Distribution rooms.Distribution `json:"distribution"`
					Rooms        []rooms.RoomStatus `json:"rooms"`
					Health       rooms.Health       `json:"health"`
					Panic        bool               `json:"panic"`
					Events       []rooms.Event      `json:"events"`
				} `json:"live"`
			}
			if err := c.Do(cmd.Context(), "GET", roomPath(args[0]), nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, out)
			}
			if out.Policy == nil {
				fmt.Fprintf(stdout, "Service %s has no room policy: every instance shares its traffic.\n", out.Service)
				return nil
			}
			p := out.Policy
			fmt.Fprintf(stdout, "Service %s\n  weights in effect: %s\n  policy weights:    %s\n", out.Service, weightsString(out.Weights), weightsString(p.Weights))
			fmt.Fprintf(stdout, "  failover: priority %v, threshold %.0f %%, overprovision %.1f, recover after %s, sticky %v\n",
				p.Priority, p.Threshold*100, p.Overprovision, p.RecoverAfter, p.Sticky)
			if s := out.Switch; s != nil {
				fmt.Fprintf(stdout, "  switch %s: %s, step %d of %d, by %s", s.ID, s.State, s.Current+1, len(s.Steps), s.Who)
				if !s.NextAt.IsZero() {
					fmt.Fprintf(stdout, ", next step at %s", s.NextAt.Local().Format(time.TimeOnly))
				}
				fmt.Fprintln(stdout)
			}
			if l := out.Live; l != nil {
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ROOM\tSTATE\tHEALTHY\tINSTANCES\tKEEPS\tSHARE")
				for _, r := range l.Rooms {
					h := l.Health[r.Room]
					fmt.Fprintf(tw, "%s\t%s\t%.0f %%\t%d/%d\t%.0f %%\t%.1f %%\n", r.Room, r.State, r.Healthy*100, h.Healthy, h.Total, r.Kept*100, r.Share*100)
				}
				_ = tw.Flush()
				if l.Panic {
					fmt.Fprintln(stdout, "  PANIC: no room has a healthy instance; the configured weights apply")
				}
				for _, e := range l.Events[max(0, len(l.Events)-5):] {
					fmt.Fprintf(stdout, "  %s  %s\n", e.At.Local().Format(time.DateTime), e)
				}
			}
			return nil
		},
	}
	f.bind(c)
	return c
}

func newRoomPolicyCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var file string
	c := &cobra.Command{
		Use:     "policy SERVICE -f FILE",
		Short:   "Set a service's room policy from a YAML or JSON file (- for stdin)",
		Example: "  wharf room policy shop -f rooms.yaml   # rooms.yaml: {weights: {bj: 100, sh: 0}, priority: [bj, sh], recover_after: 30s}",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rc config.RoomsConfig
			if err := readObject(cmd.InOrStdin(), file, &rc); err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var out struct {
				Version int64        `json:"version"`
				Object  rooms.Policy `json:"object"`
			}
			if err := c.Do(cmd.Context(), "PUT", roomPath(args[0])+"/policy", rc, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, out)
			}
			fmt.Fprintf(stdout, "Room policy of %s saved (edge config version %d): %s\n", args[0], out.Version, weightsString(out.Object.Weights))
			return nil
		},
	}
	f.bind(c)
	c.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file with the policy (- for stdin)")
	_ = c.MarkFlagRequired("file")
	return c
}

// newRoomSwitchCmd is `wharf room switch` (use starts with "switch") and
// `wharf room weights`.
func newRoomSwitchCmd(stdout io.Writer, use, short, example string) *cobra.Command {
	var f clientFlags
	var to, steps, why string
	var interval, drain time.Duration
	byWeights := strings.HasPrefix(use, "weights")
	c := &cobra.Command{
		Use: use, Short: short, Example: example,
		Args: func(_ *cobra.Command, args []string) error {
			if byWeights && len(args) < 2 {
				return fmt.Errorf("give the service and at least one ROOM=WEIGHT")
			}
			if !byWeights && len(args) != 1 {
				return fmt.Errorf("give exactly one service")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"why": why}
			if byWeights {
				w, err := parseRoomWeights(args[1:])
				if err != nil {
					return err
				}
				body["weights"] = w
			} else {
				if to == "" {
					return fmt.Errorf("--to ROOM is required")
				}
				body["to"] = to
			}
			if steps != "" {
				var pct []int
				for _, s := range strings.Split(steps, ",") {
					n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(s, "%")))
					if err != nil {
						return fmt.Errorf("--steps: %q is not a percentage", s)
					}
					pct = append(pct, n)
				}
				body["steps"] = pct
			}
			if interval > 0 {
				body["interval"] = interval.String()
			}
			if drain > 0 {
				body["drain"] = drain.String()
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var rec rooms.Record
			if err := c.Do(cmd.Context(), "POST", roomPath(args[0])+"/switch", body, &rec); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, rec)
			}
			if rec.State == rooms.SwitchDone {
				fmt.Fprintf(stdout, "Switched %s to %s (switch %s); every gateway node applies it within a second.\n", args[0], weightsString(rec.To), rec.ID)
				return nil
			}
			fmt.Fprintf(stdout, "Switch %s of %s started: %s → %s in %d steps, every %s; now at %s.\n",
				rec.ID, args[0], weightsString(rec.From), weightsString(rec.To), len(rec.Steps), rec.Interval, weightsString(rec.Weights()))
			fmt.Fprintf(stdout, "Follow it with: wharf room show %s   (pause/resume/abort: wharf room pause %s)\n", args[0], args[0])
			return nil
		},
	}
	f.bind(c)
	if !byWeights {
		c.Flags().StringVar(&to, "to", "", "the room to move all traffic to")
	}
	c.Flags().StringVar(&steps, "steps", "", "stage the switch, in percent of the way, e.g. 10,50,100 (default: at once)")
	c.Flags().DurationVar(&interval, "interval", 0, "time between steps (default 1m)")
	c.Flags().DurationVar(&drain, "drain", 0, "keep the pools of a room losing traffic this long after each step")
	c.Flags().StringVar(&why, "why", "", "the reason, kept in the history")
	return c
}

func parseRoomWeights(args []string) (map[string]int, error) {
	w := map[string]int{}
	for _, a := range args {
		room, v, ok := strings.Cut(a, "=")
		n, err := strconv.Atoi(v)
		if !ok || room == "" || err != nil {
			return nil, fmt.Errorf("%q: want ROOM=WEIGHT, e.g. bj=20", a)
		}
		if _, dup := w[room]; dup {
			return nil, fmt.Errorf("%q: room %q is given twice; give each room once", a, room)
		}
		w[room] = n
	}
	return w, nil
}

func newRoomActionCmd(stdout io.Writer, action string) *cobra.Command {
	var f clientFlags
	var why string
	c := &cobra.Command{
		Use: action + " SERVICE", Short: strings.ToUpper(action[:1]) + action[1:] + " the room switch in progress", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var rec rooms.Record
			if err := c.Do(cmd.Context(), "POST", roomPath(args[0])+"/switch/"+action, map[string]string{"why": why}, &rec); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, rec)
			}
			fmt.Fprintf(stdout, "Switch %s of %s is %s; weights in effect %s.\n", rec.ID, args[0], rec.State, weightsString(rec.Weights()))
			return nil
		},
	}
	f.bind(c)
	c.Flags().StringVar(&why, "why", "", "the reason, kept in the history")
	return c
}

func newRoomHistoryCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	var limit int
	c := &cobra.Command{
		Use: "history SERVICE", Short: "Every room switch of a service: who, why, from, to, when, steps", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out struct {
				Switches []rooms.Record `json:"switches"`
			}
			if err := c.Do(cmd.Context(), "GET", fmt.Sprintf("%s/history?limit=%d", roomPath(args[0]), limit), nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(stdout, out)
			}
			if len(out.Switches) == 0 {
				fmt.Fprintf(stdout, "No room switch of %s yet.\n", args[0])
				return nil
			}
			rows := cliout.NewRows("STARTED", "ID", "WHO", "FROM", "TO", "STEPS", "STATE", "WHY")
			now := time.Now()
			for _, r := range out.Switches {
				var st []string
				for _, s := range r.Steps {
					if s.StartedAt.IsZero() {
						st = append(st, "-")
					} else {
						st = append(st, s.StartedAt.Local().Format(time.TimeOnly))
					}
				}
				rows.Add(cliout.Ago(r.StartedAt, now), r.ID, r.Who, weightsString(r.From), weightsString(r.To), strings.Join(st, ","), string(r.State), r.Why)
			}
			return rows.Write(stdout, "")
		},
	}
	f.bind(c)
	c.Flags().IntVar(&limit, "limit", 20, "how many switches, newest first")
	return c
}

// weightsString renders weights as "bj=100 sh=0", rooms sorted.
func weightsString(w map[string]int) string {
	var b strings.Builder
	for i, r := range slices.Sorted(maps.Keys(w)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", r, w[r])
	}
	return b.String()
}
