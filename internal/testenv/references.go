package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// GrowthBookJSVersion is the version of GrowthBook's JS SDK that
// infra/deps.sh installs and the A/B engine is compared with.
const GrowthBookJSVersion = "1.7.0"

// GrowthBookJS returns the path of node and of the folder whose
// node_modules holds @growthbook/growthbook (.bin/growthbook-js, made by
// `make deps`), the reference of the A/B engine.
func GrowthBookJS(t testing.TB) (node, dir string) {
	t.Helper()
	node = binary(t, "node", "apt-get install -y nodejs (or: make deps)")
	if p := binDirWith("growthbook-js", filepath.Join("node_modules", "@growthbook", "growthbook", "package.json")); p != "" {
		return node, p
	}
	missing(t, "@growthbook/growthbook "+GrowthBookJSVersion+" not found in .bin/growthbook-js; install it with: make deps")
	return "", ""
}

// ApolloJSVersion is the version of the Node.js Apollo client
// @lvgithub/ctrip-apollo-client that infra/deps.sh installs and the
// config function's Apollo compatibility is tested with.
const ApolloJSVersion = "1.0.38"

// ApolloJS returns the path of node and of the folder whose node_modules
// holds @lvgithub/ctrip-apollo-client (.bin/apollo-js, made by `make
// deps`), an unmodified Apollo client.
func ApolloJS(t testing.TB) (node, dir string) {
	t.Helper()
	node = binary(t, "node", "apt-get install -y nodejs (or: make deps)")
	if p := binDirWith("apollo-js", filepath.Join("node_modules", "@lvgithub", "ctrip-apollo-client", "package.json")); p != "" {
		return node, p
	}
	missing(t, "@lvgithub/ctrip-apollo-client "+ApolloJSVersion+" not found in .bin/apollo-js; install it with: make deps")
	return "", ""
}

// binDirWith returns the path of name in $WHARF_BIN_DIR or the repository's
// .bin whose file rel exists, or "".
func binDirWith(name, rel string) string {
	var dirs []string
	if d := os.Getenv("WHARF_BIN_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	if root := repoRoot(); root != "" {
		dirs = append(dirs, filepath.Join(root, ".bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(filepath.Join(p, rel)); err == nil {
			return p
		}
	}
	return ""
}

// SciPy returns the path of a python3 that imports scipy and numpy
// (Debian's python3-scipy), the reference of the A/B statistics:
// $WHARF_PYTHON, /usr/bin/python3, then python3 on PATH.
func SciPy(t testing.TB) string {
	t.Helper()
	candidates := []string{os.Getenv("WHARF_PYTHON"), "/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if p != "" && exec.Command(p, "-c", "import scipy, numpy").Run() == nil {
			return p
		}
	}
	missing(t, "no python3 with scipy and numpy; install it with: apt-get install -y python3-scipy (or: make deps)")
	return ""
}

// missing fails the test in CI and skips it elsewhere, as binary does.
func missing(t testing.TB, msg string) {
	t.Helper()
	if isCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
