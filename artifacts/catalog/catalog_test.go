package catalog_test

import (
	"slices"
	"testing"

	"github.com/wharfhq/wharf/artifacts/catalog"
)

// TestLiveRoundTrip: what LiveValue writes ParseLive reads, a bare array
// too, and anything else is an error.
func TestLiveRoundTrip(t *testing.T) {
	t.Parallel()
	got, err := catalog.ParseLive(catalog.LiveValue("1.0.0", "1.1.0"))
	if err != nil || !slices.Equal(got, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("round trip: %q %v", got, err)
	}
	if got, err := catalog.ParseLive([]byte(`["2.0.0"]`)); err != nil || !slices.Equal(got, []string{"2.0.0"}) {
		t.Fatalf("bare array: %q %v", got, err)
	}
	if _, err := catalog.ParseLive([]byte(`"x"`)); err == nil {
		t.Fatal("a string parsed as live versions")
	}
}

// TestKeys pins the store and blob keys: they are stored data, so a
// change needs a migration.
func TestKeys(t *testing.T) {
	t.Parallel()
	for got, want := range map[string]string{
		catalog.MetaKey("shop", "1.2.3"): "artifacts/apps/shop/versions/1.2.3",
		catalog.LiveKey("shop"):          "deploys/live/shop",
		catalog.BlobKey("shop", "1.2.3"): "apps/shop/1.2.3",
	} {
		if got != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
	if !catalog.ValidApp("shop-2") || catalog.ValidApp("2shop") || catalog.ValidApp("Shop") || !catalog.ValidVersion("1.2.3") || catalog.ValidVersion("../x") {
		t.Fatal("name rules changed")
	}
}
