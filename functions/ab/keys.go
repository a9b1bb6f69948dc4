package ab

import "strconv"

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

// exposureKey holds the exposure counts of one experiment's bucket version.
func exposureKey(team, key string, bucketVersion int) string {
	return exposurePrefix + team + "/" + key + "/" + strconv.Itoa(bucketVersion)
}
