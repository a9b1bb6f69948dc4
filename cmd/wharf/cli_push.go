package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/functions/artifacts"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/internal/ident"
)

func artifactPath(app, version string) string {
	p := "/api/v1/apps/" + app + "/artifacts"
	if version != "" {
		p += "/" + version
	}
	return p
}

// isTerminal reports whether w is a terminal (progress bars only then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// newPushCmd builds `wharf push DIR --app APP --version V`.
func newPushCmd(stdout, stderr io.Writer) *cobra.Command {
	var cf clientFlags
	var app, version, compression string
	cmd := &cobra.Command{
		Use:   "push DIR",
		Short: "Pack a directory with a wharf.yaml into a bundle and push it as a new version",
		Long: `Pack DIR (honouring .wharfignore) into a bundle, compute its SHA-256, upload it
and check that the server stored the same SHA-256.

The bundle is packed into a temporary file first (in $TMPDIR, removed
afterwards): that gives the SHA-256 before the upload, which the server then
verifies on the way, and a known size for the progress bar (bytes, rate, ETA;
shown only when stderr is a terminal). Versions are immutable: pushing an
existing version fails.`,
		Example: `  wharf push ./shop --app shop --version 1.4.2
  wharf push . --version 2026.11.21 --compression zstd`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version == "" {
				return errors.New("--version is required")
			}
			if !ident.Version(version) {
				return fmt.Errorf("--version %q is invalid: use 1-128 of A-Z a-z 0-9 . _ - +, starting with a letter or digit, e.g. 1.4.2", version)
			}
			comp, err := bundle.ParseCompression(compression)
			if err != nil {
				return err
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			return push(cmd.Context(), c, pushArgs{dir: args[0], app: app, version: version, comp: comp, json: cf.json()}, stdout, stderr)
		},
	}
	cf.bind(cmd)
	cmd.Flags().StringVar(&app, "app", "", "app name (default: the manifest's app; must match it)")
	cmd.Flags().StringVar(&version, "version", "", "version to create, e.g. 1.4.2 (required)")
	cmd.Flags().StringVar(&compression, "compression", "gzip", "gzip or zstd")
	return cmd
}

type pushArgs struct {
	dir, app, version string
	comp              bundle.Compression
	json              bool
}

// pushView is `wharf push -o json`: the stored metadata and the bundle's file count.
type pushView struct {
	catalog.Meta
	Files int `json:"files"`
}

func push(ctx context.Context, c *apiclient.Client, a pushArgs, stdout, stderr io.Writer) error {
	if a.app != "" {
		if err := checkFree(ctx, c, a.app, a.version); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp("", "wharf-push-*.bundle")
	if err != nil {
		return fmt.Errorf("cannot create a temporary file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	res, err := bundle.Pack(ctx, a.dir, io.MultiWriter(tmp, h), bundle.PackOptions{Compression: a.comp})
	if err != nil {
		return fmt.Errorf("cannot pack %s: %w", a.dir, err)
	}
	if a.app == "" {
		a.app = res.Manifest.App
		if err := checkFree(ctx, c, a.app, a.version); err != nil {
			return err
		}
	} else if res.Manifest.App != a.app {
		return fmt.Errorf("%s/wharf.yaml says app %q, not %q", a.dir, res.Manifest.App, a.app)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("cannot size the bundle: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("cannot rewind the bundle: %w", err)
	}
	var body io.Reader = tmp
	var bar *progress
	if isTerminal(stderr) {
		bar = newProgress(stderr, "pushing", size)
		body = bar.reader(tmp)
	}
	var meta catalog.Meta
	err = c.Upload(ctx, http.MethodPut, artifactPath(a.app, a.version), body, size,
		map[string]string{artifacts.HeaderSHA256: sum, "Content-Type": "application/octet-stream"}, &meta)
	if bar != nil {
		bar.done()
	}
	if err != nil {
		return err
	}
	if meta.SHA256 != sum || meta.Size != size {
		return fmt.Errorf("the server stored %d bytes with SHA-256 %s, but the bundle has %d bytes with SHA-256 %s", meta.Size, meta.SHA256, size, sum)
	}
	if a.json {
		return printJSON(stdout, pushView{Meta: meta, Files: res.Files})
	}
	fmt.Fprintf(stdout, "Pushed %s %s: %s (%d files), sha256 %s\n", a.app, a.version, humanBytes(size), res.Files, sum)
	return nil
}

// checkFree fails when the version exists already, so an upload is not
// wasted (the server refuses it anyway).
func checkFree(ctx context.Context, c *apiclient.Client, app, version string) error {
	err := c.Do(ctx, http.MethodGet, artifactPath(app, version), nil, nil)
	switch {
	case err == nil:
		return fmt.Errorf("version %s of app %s already exists: versions are immutable, push a new version", version, app)
	case apiclient.IsStatus(err, http.StatusNotFound), apiclient.IsStatus(err, http.StatusForbidden):
		// Free, not ours to see, or a token that may not read: the
		// upload's answer says whether this token may push.
		return nil
	}
	return err
}

// newArtifactsCmd builds `wharf artifacts list|show|download|delete`.
func newArtifactsCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "artifacts", Short: "List, show, download and delete pushed bundles"}

	var lf clientFlags
	list := &cobra.Command{
		Use: "list APP", Short: "List an app's versions, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := lf.client()
			if err != nil {
				return err
			}
			var out artifacts.ListResponse
			if err := c.Do(cmd.Context(), http.MethodGet, artifactPath(args[0], ""), nil, &out); err != nil {
				return err
			}
			if lf.output == "json" {
				return printJSON(stdout, out)
			}
			rows := cliout.NewRows("VERSION", "SIZE", "SHA256", "PUSHED", "BY")
			now := time.Now()
			for _, m := range out.Artifacts {
				rows.Add(m.Version, humanBytes(m.Size), fmt.Sprintf("%.12s", m.SHA256), cliout.Ago(m.CreatedAt, now), m.Uploader)
			}
			return rows.Write(stdout, fmt.Sprintf("No versions of %s.", args[0]))
		},
	}
	lf.bind(list)

	var sf clientFlags
	show := &cobra.Command{
		Use: "show APP VERSION", Short: "Show a version's metadata and manifest", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := sf.client()
			if err != nil {
				return err
			}
			var out catalog.Meta
			if err := c.Do(cmd.Context(), http.MethodGet, artifactPath(args[0], args[1]), nil, &out); err != nil {
				return err
			}
			return sf.show(stdout, out)
		},
	}
	sf.bind(show)

	var df clientFlags
	var outFile string
	download := &cobra.Command{
		Use: "download APP VERSION", Short: "Download a bundle and verify its SHA-256", Args: cobra.ExactArgs(2),
		Example: "  wharf artifacts download shop 1.4.2 -o shop.tar.gz",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := df.client()
			if err != nil {
				return err
			}
			if outFile == "" {
				outFile = args[0] + "-" + args[1] + ".bundle"
			}
			return downloadBundle(cmd.Context(), c, args[0], args[1], outFile, stdout, stderr)
		},
	}
	df.bindConn(download)
	download.Flags().StringVarP(&outFile, "out", "o", "", "file to write (default APP-VERSION.bundle)")

	var xf clientFlags
	del := &cobra.Command{
		Use: "delete APP VERSION", Short: "Delete a version (refused while a live deploy uses it)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := xf.client()
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), http.MethodDelete, artifactPath(args[0], args[1]), nil, nil); err != nil {
				return err
			}
			if xf.json() {
				return printJSON(stdout, map[string]string{"deleted": args[0] + " " + args[1]})
			}
			fmt.Fprintf(stdout, "Deleted %s %s.\n", args[0], args[1])
			return nil
		},
	}
	xf.bind(del)

	cmd.AddCommand(list, show, download, del)
	return cmd
}

// downloadBundle streams a bundle into a temporary file next to out,
// checks size and SHA-256 against the server's, and renames it into place.
func downloadBundle(ctx context.Context, c *apiclient.Client, app, version, out string, stdout, stderr io.Writer) error {
	resp, err := c.Download(ctx, artifactPath(app, version)+"/download")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	want := resp.Header.Get(artifacts.HeaderSHA256)
	tmp, err := os.CreateTemp(filepath.Dir(out), ".wharf-download-*")
	if err != nil {
		return fmt.Errorf("cannot create a file next to %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var body io.Reader = resp.Body
	var bar *progress
	if isTerminal(stderr) {
		bar = newProgress(stderr, "downloading", resp.ContentLength)
		body = bar.reader(resp.Body)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if bar != nil {
		bar.done()
	}
	if err != nil {
		return fmt.Errorf("cannot download %s %s: %w", app, version, err)
	}
	if err := checkDownload(h, n, resp.ContentLength, want); err != nil {
		return fmt.Errorf("download of %s %s is corrupt: %w", app, version, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("cannot write %s: %w", out, err)
	}
	fmt.Fprintf(stdout, "Downloaded %s %s to %s: %s, sha256 %s (verified)\n", app, version, out, humanBytes(n), want)
	return nil
}

func checkDownload(h hash.Hash, n, length int64, want string) error {
	got := hex.EncodeToString(h.Sum(nil))
	switch {
	case want == "":
		return fmt.Errorf("the server sent no %s header", artifacts.HeaderSHA256)
	case length >= 0 && n != length:
		return fmt.Errorf("got %d of %d bytes", n, length)
	case got != want:
		return fmt.Errorf("SHA-256 is %s, the server says %s", got, want)
	}
	return nil
}

// humanBytes renders a size in B, KiB, MiB or GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 2 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMG"[i])
}

// progress draws a one-line progress bar (bytes, rate, ETA) on a terminal,
// at most every 200 ms.
type progress struct {
	w     io.Writer
	verb  string
	total int64
	start time.Time
	mu    sync.Mutex
	n     int64
	last  time.Time
}

func newProgress(w io.Writer, verb string, total int64) *progress {
	return &progress{w: w, verb: verb, total: total, start: time.Now()}
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(int64(n))
	return n, err
}

func (p *progress) reader(r io.Reader) io.Reader { return progressReader{r: r, p: p} }

func (p *progress) add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += n
	if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond {
		p.last = now
		p.draw(now)
	}
}

func (p *progress) draw(now time.Time) {
	el := now.Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.n) / el
	}
	line := fmt.Sprintf("%s %s", p.verb, humanBytes(p.n))
	if p.total > 0 {
		line += fmt.Sprintf(" / %s %3.0f%%", humanBytes(p.total), 100*float64(p.n)/float64(p.total))
	}
	line += fmt.Sprintf("  %s/s", humanBytes(int64(rate)))
	if p.total > 0 && rate > 0 {
		eta := time.Duration(float64(p.total-p.n) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf("  ETA %s", eta)
	}
	fmt.Fprintf(p.w, "\r%-72s", line)
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(time.Now())
	fmt.Fprintln(p.w)
}
