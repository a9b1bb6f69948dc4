package main

import (
	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/monitoring/silence"
)

// argCases are the ids of the cases the token sees (firing ones for ack).
func argCases(state string) func(cmd *cobra.Command, _ []string) []string {
	return func(cmd *cobra.Command, _ []string) []string {
		path := alarmsPath + "?limit=1000"
		if state != "" {
			path += "&state=" + state
		}
		return fetchNames(cmd, path, func(out alarms.CaseList) []string {
			var n []string
			for _, c := range out.Alarms {
				n = append(n, c.ID)
			}
			return n
		})
	}
}

// argSilences are the ids of the silences not yet expired.
func argSilences(cmd *cobra.Command, _ []string) []string {
	return fetchNames(cmd, "/api/v2/silences", func(out []alarms.GettableSilence) []string {
		var n []string
		for _, s := range out {
			if s.Status.State != silence.Expired {
				n = append(n, s.ID)
			}
		}
		return n
	})
}
