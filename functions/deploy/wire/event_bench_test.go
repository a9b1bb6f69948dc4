package wire_test

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// BenchmarkEventSignVerify is what signing adds per event: SignEvent on
// the agent, ParseSignedEvent and Verify on the deploy function.
func BenchmarkEventSignVerify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	ev := wire.Event{DeployID: "shop.20260301T120000.000Z.9f3a1c2b", TaskID: 1, Host: "h001", State: wire.PhaseHealthy,
		At: time.Now(), Msg: "2 instances healthy: 10.0.0.1:40001, 10.0.0.1:40002", Duration: wire.Duration(time.Second)}
	body, _ := wire.SignEvent(ev, priv)
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wire.SignEvent(ev, priv); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := wire.ParseSignedEvent(body)
			if err != nil || !s.Verify(pub) {
				b.Fatal("not verified", err)
			}
		}
	})
}
