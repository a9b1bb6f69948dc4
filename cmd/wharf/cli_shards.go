package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/cliout"
)

// newStrategyShardsCmd is `wharf strategy shards`: which judge owns which
// shard of the points (GET /api/v1/monitoring/shards, admin).
func newStrategyShardsCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "shards",
		Short: "Which judge and series node owns which shard, lease expiries and the live nodes (admin)",
		Long: `Shows, for the judge and for the series writers, every shard of the points with the node that
holds its lease and when the lease expires unless renewed, the live nodes with how many shards
each holds, and the shards nobody holds: their points wait in NSQ until a node takes them (within
the lease TTL of a node's death). In serve the series writer stores every shard itself, without
leases.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out monitor.ShardsReply
			if err := c.Do(cmd.Context(), http.MethodGet, "/api/v1/monitoring/shards", nil, &out); err != nil {
				return err
			}
			return f.emit(stdout, out, func() error { return renderShards(stdout, out) })
		},
	}
	f.bind(cmd)
	return cmd
}

// roleCommand is the command that runs a node of a shard-owning role.
func roleCommand(role string) string {
	if role == "series" {
		return "wharf functions" // the series writers run in the function nodes
	}
	return "wharf " + role
}

func renderShards(w io.Writer, out monitor.ShardsReply) error {
	now := out.Time
	for i, rs := range out.Roles {
		if i > 0 {
			fmt.Fprintln(w)
		}
		owned := "every shard owned"
		if n := len(rs.Unowned); n > 0 {
			ids := make([]string, n)
			for j, s := range rs.Unowned {
				ids[j] = strconv.Itoa(s)
			}
			owned = fmt.Sprintf("%d unowned (%s): their points wait in NSQ until a %s node takes them", n, strings.Join(ids, ","), rs.Role)
		}
		fmt.Fprintf(w, "%s: %d shards, %d live node(s), %s\n", rs.Role, rs.Shards, len(rs.Members), owned)
		members := cliout.NewRows("NODE", "SHARDS", "EXPIRES")
		members.Indent = "  "
		for _, m := range rs.Members {
			members.Add(m.Node, strconv.Itoa(m.Shards), expires(m.ExpiresAt, now))
		}
		if err := members.Write(w, "No live "+rs.Role+" node: start "+roleCommand(rs.Role)+" (wharf serve runs one)."); err != nil {
			return err
		}
		fmt.Fprintln(w)
		leases := cliout.NewRows("SHARD", "OWNER", "LEASE EXPIRES")
		leases.Indent = "  "
		for _, l := range rs.Leases {
			leases.Add(strconv.Itoa(l.Shard), cliout.Cell(l.Owner), expires(l.ExpiresAt, now))
		}
		if err := leases.Write(w, "No shards."); err != nil {
			return err
		}
	}
	return nil
}

// expires renders an expiry relative to the server's clock ("in 8s").
func expires(t *time.Time, now time.Time) string {
	if t == nil {
		return ""
	}
	return cliout.Ago(*t, now)
}
