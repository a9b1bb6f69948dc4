package ab

// ExposureSlot is the slot of f's set of exposed units that unit's
// exposure to variation falls on. The set is lossy: two units on one slot
// evict each other, and each decision of either records it again and
// spends the interval's budget of new exposures, so a test that counts
// recorded units exactly picks units that share no slot.
func ExposureSlot(f *Function, unit string, variation int) uint64 {
	return unitHash(f.seed, unit, variation) & uint64(f.opts.ExposureSlots-1)
}
