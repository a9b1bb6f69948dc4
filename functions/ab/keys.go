package ab

import "github.com/wharfhq/wharf/functions/ab/experiment"

// Store keys. Everything under defPrefix is mirrored into every node's
// snapshot; exposures and totals are read by results only.
const (
	defPrefix        = "ab/def/"
	layerPrefix      = defPrefix + "layers/"
	experimentPrefix = defPrefix + "experiments/"
	sdkKeyPrefix     = defPrefix + "sdkkeys/"
	exposurePrefix   = "ab/exposures/"
)

func layerKey(team, name string) string     { return layerPrefix + team + "/" + name }
func experimentKey(team, key string) string { return experimentPrefix + team + "/" + key }
func sdkKeyKey(clientKey string) string     { return sdkKeyPrefix + clientKey }

// ExposureKey is where the exposure counts of e's bucket version live:
// ab/exposures/<team>/<key>/<creation, unix ns>/<bucket version>, so an
// experiment deleted and created again under its key starts from none.
func ExposureKey(e experiment.Experiment) string {
	return exposurePrefix + counterID(e)
}
