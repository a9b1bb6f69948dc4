package release

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/artifacts/bundle"
)

// benchBundle is a ~8 MiB bundle: random (incompressible) files, so the
// compressed size is about the unpacked size.
func benchBundle(b *testing.B) testBundle {
	files := map[string]string{"wharf.yaml": shopManifest}
	for i := range 32 {
		files[fmt.Sprintf("static/chunk-%02d.bin", i)] = string(randomBytes(256 << 10))
	}
	return packBundle(b, bundle.Gzip, files)
}

func randomBytes(n int) []byte {
	p := make([]byte, n)
	rand.Read(p)
	return p
}

// BenchmarkInstall8MiB: download from a loopback server, sha256, unpack,
// manifest check, marker, rename. Each iteration installs a new version;
// old ones are pruned outside the timer.
func BenchmarkInstall8MiB(b *testing.B) {
	bb := benchBundle(b)
	srv := newServer(b, serve(bb.data))
	e := newEnv(b, Options{Keep: 1})
	b.SetBytes(int64(len(bb.data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.m.Install(b.Context(), "shop", fmt.Sprintf("v%d", i), bb.sum, srv.source()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := e.m.Prune("shop"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkInstallPresent: the skip path (marker and manifest read back).
func BenchmarkInstallPresent(b *testing.B) {
	bb := shopBundle(b, "a")
	srv := newServer(b, serve(bb.data))
	e := newEnv(b, Options{})
	if _, err := e.m.Install(b.Context(), "shop", "v1", bb.sum, srv.source()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r, err := e.m.Install(b.Context(), "shop", "v1", bb.sum, srv.source()); err != nil || !r.Skipped {
			b.Fatal(r, err)
		}
	}
}
