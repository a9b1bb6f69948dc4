// Command pushbench measures one artifact push through the Wharf gateway
// against minio-go PutObject of the same bytes straight to the same MinIO,
// and reports both throughputs, their ratio and the Wharf process's peak
// RSS growth (VmHWM from /proc). bench/artifacts/run.sh sets everything up.
package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pushbench:", err)
		os.Exit(1)
	}
}

func run() error {
	gw := flag.String("gateway", "http://127.0.0.1:8080", "Wharf gateway URL")
	token := flag.String("token", "", "admin token")
	endpoint := flag.String("minio", "", "MinIO host:port")
	access := flag.String("access-key", "", "MinIO access key")
	secret := flag.String("secret-key", "", "MinIO secret key")
	size := flag.Int64("size", 1<<30, "bundle payload size in bytes")
	file := flag.String("file", "", "bundle file (generated when missing)")
	pid := flag.Int("pid", 0, "Wharf's pid, for VmHWM")
	flag.Parse()

	if _, err := os.Stat(*file); err != nil {
		if err := generate(*file, *size); err != nil {
			return err
		}
	}
	sum, n, err := hashFile(*file)
	if err != nil {
		return err
	}
	hwm0, _ := vmHWM(*pid)

	// Through the gateway.
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	version := strconv.FormatInt(time.Now().UnixNano(), 10)
	req, err := http.NewRequest(http.MethodPut, *gw+"/api/v1/apps/bench/artifacts/"+version, f)
	if err != nil {
		return err
	}
	req.ContentLength = n
	req.Header.Set("Authorization", "Bearer "+*token)
	req.Header.Set("X-Content-Sha256", sum)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot push through the gateway: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wharfDur := time.Since(start)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(body), sum) {
		return fmt.Errorf("push answered %d: %s", resp.StatusCode, body)
	}
	hwm1, _ := vmHWM(*pid)

	// Straight to MinIO.
	c, err := minio.New(*endpoint, &minio.Options{Creds: credentials.NewStaticV4(*access, *secret, "")})
	if err != nil {
		return err
	}
	ctx := context.Background()
	const bucket = "pushbench-direct"
	if ok, err := c.BucketExists(ctx, bucket); err != nil {
		return fmt.Errorf("cannot reach MinIO: %w", err)
	} else if !ok {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			return err
		}
	}
	// The HTTP client closed f after sending it.
	f2, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f2.Close()
	start = time.Now()
	if _, err := c.PutObject(ctx, bucket, "bundle-"+version, f2, n, minio.PutObjectOptions{}); err != nil {
		return fmt.Errorf("cannot PutObject: %w", err)
	}
	directDur := time.Since(start)

	mib := float64(n) / (1 << 20)
	wharfRate, directRate := mib/wharfDur.Seconds(), mib/directDur.Seconds()
	fmt.Printf("bundle:          %.0f MiB (sha256 %s)\n", mib, sum[:16])
	fmt.Printf("wharf gateway:   %7.1f MiB/s (%s)\n", wharfRate, wharfDur.Round(time.Millisecond))
	fmt.Printf("minio PutObject: %7.1f MiB/s (%s)\n", directRate, directDur.Round(time.Millisecond))
	fmt.Printf("ratio:           %.2f (target >= 0.8)\n", wharfRate/directRate)
	if *pid > 0 {
		fmt.Printf("wharf VmHWM:     %.1f MiB before the push, %.1f MiB after: growth %.1f MiB (target < 64)\n",
			float64(hwm0)/1024, float64(hwm1)/1024, float64(hwm1-hwm0)/1024)
	}
	return nil
}

// generate writes a gzip'd tar (stored, not compressed, so generating is
// quick) with a manifest for app "bench" and size bytes of random payload.
func generate(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.NoCompression)
	tw := tar.NewWriter(zw)
	mf := []byte("app: bench\nprocesses:\n  web: ./server\n")
	if err := tw.WriteHeader(&tar.Header{Name: "wharf.yaml", Mode: 0o644, Size: int64(len(mf)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(mf); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "payload", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(tw, rng, size); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// vmHWM reads the peak resident set size of pid, in KiB.
func vmHWM(pid int) (int64, error) {
	if pid <= 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
