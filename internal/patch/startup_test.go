//go:build linux && (amd64 || arm64)

package patch

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startupProgram builds testdata/startup, an 11 MB program with 400
// call-site targets, and returns its path.
func startupProgram(tb testing.TB) string {
	tb.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("no go command")
	}
	bin := filepath.Join(tb.TempDir(), "startup")
	if out, err := exec.Command(gocmd, "build", "-o", bin, "bounded.dev/internal/patch/testdata/startup").CombinedOutput(); err != nil {
		tb.Fatalf("building testdata/startup: %v\n%s", err, out)
	}
	return bin
}

// runStartup runs the program for n registrations and returns the wall
// and CPU time they took and the index's bytes.
func runStartup(tb testing.TB, bin string, n int) (wall, cpu time.Duration, index int64) {
	tb.Helper()
	cmd := exec.Command(bin, strconv.Itoa(n))
	cmd.Env = append(os.Environ(), "DFLAG=") // not the ambient spec
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("startup %d: %v\n%s", n, err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 4 || f[0] != strconv.Itoa(n) {
		tb.Fatalf("startup %d printed %q", n, out)
	}
	w, _ := strconv.ParseInt(f[1], 10, 64)
	c, _ := strconv.ParseInt(f[2], 10, 64)
	index, _ = strconv.ParseInt(f[3], 10, 64)
	return time.Duration(w), time.Duration(c), index
}

// TestStartupProgram runs the start-up program once each way: the
// registrations succeed and switch the calls off.
func TestStartupProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an 11 MB program")
	}
	bin := startupProgram(t)
	for _, n := range []int{1, 400} {
		wall, cpu, index := runStartup(t, bin, n)
		t.Logf("%d registrations and Init: %v wall, %v CPU; index %d bytes", n, wall, cpu, index)
		if index == 0 {
			t.Error("the index reports no memory")
		}
	}
}

// BenchmarkStartup measures, in fresh processes of the 11 MB start-up
// program, the cost of registering one call-site function and of
// registering 400, each followed by Init, the engine's one-time start-up
// included. Each op runs the program once each way; one-ms and all-ms are
// the wall-clock milliseconds, one-cpu-ms and all-cpu-ms the CPU time, and
// x-wall and x-cpu the ratios 400/1.
func BenchmarkStartup(b *testing.B) {
	bin := startupProgram(b)
	var w1, w400, c1, c400 time.Duration
	var index int64
	for b.Loop() {
		w, c, _ := runStartup(b, bin, 1)
		w1, c1 = w1+w, c1+c
		w, c, index = runStartup(b, bin, 400)
		w400, c400 = w400+w, c400+c
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 / n }
	b.ReportMetric(ms(w1), "one-ms")
	b.ReportMetric(ms(w400), "all-ms")
	b.ReportMetric(ms(c1), "one-cpu-ms")
	b.ReportMetric(ms(c400), "all-cpu-ms")
	b.ReportMetric(float64(w400)/float64(w1), "x-wall")
	b.ReportMetric(float64(c400)/float64(c1), "x-cpu")
	b.ReportMetric(float64(index), "index-bytes")
}
