package wire

import (
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

func TestKeysAreValidAndOrdered(t *testing.T) {
	t.Parallel()
	keys := []string{CaseKey("s_cpu_0123"), TeamCaseKey("shop", "s_cpu_0123"), ClaimKey("k1"),
		QueueKey("shop", "chat", 1_700_000_000_000, "k1"), QueueLeaseKey("shop", "chat"), DeadKey("shop", "k1"),
		SilenceKey("a1"), RouteKey("shop"), RouteHistoryKey("shop", 3), ReceiverKey("shop", "chat"),
		SecretKey("shop", "hmac"), InhibitKey("shop")}
	for _, k := range keys {
		if !store.ValidKey(k) {
			t.Errorf("%q is not a valid store key", k)
		}
	}
	// Queue entries list in due order, route versions in version order.
	if !(QueueKey("t", "r", 9, "z") < QueueKey("t", "r", 10, "a")) || !(RouteHistoryKey("t", 9) < RouteHistoryKey("t", 10)) {
		t.Error("keys do not sort numerically")
	}
	if got := QueueKey("t", "r", -5, "k"); got != QueuePrefix+"t/r/000000000000000/k" {
		t.Errorf("negative due: %s", got)
	}
}
