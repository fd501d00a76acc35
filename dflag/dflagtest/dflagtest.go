package dflagtest

import (
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"bounded.dev/dflag"
)

// Env is the environment variables dflag.Init reads; [Setup] clears them.
var Env = []string{"DFLAG", "DFLAG_FILE", "DFLAG_STRICT"}

// Setup clears the environment variables that configure dflag (see
// [Env]), so that the tests do not depend on the ambient DFLAG, then calls
// [dflag.Init] and returns its error.
func Setup() error {
	for _, v := range Env {
		os.Unsetenv(v)
	}
	return dflag.Init()
}

// Main is a TestMain for packages that use dflag: it runs [Setup] (and
// exits with status 2 if Init fails), then the tests.
//
//	func TestMain(m *testing.M) { dflagtest.Main(m) }
func Main(m *testing.M) {
	if err := Setup(); err != nil {
		fmt.Fprintln(os.Stderr, "dflagtest:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// Reset sets every flag's counts back to their declared values now and
// again when the test ends (see [dflag.ResetCounts]), for tests that need
// a known starting point after tests that left flags switched.
func Reset(t testing.TB) {
	t.Helper()
	if err := dflag.ResetCounts(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dflag.ResetCounts(); err != nil {
			t.Error(err)
		}
	})
}

// Activate activates the records that pattern matches now, as
// [dflag.Activate] does, and deactivates exactly those records when the
// test ends (records registered meanwhile are not touched, and an unhooked
// record, which ignores the activation, is not deactivated). It returns
// the number of records matched and fails the test on an invalid pattern.
func Activate(t testing.TB, pattern string) int {
	t.Helper()
	fs, err := dflag.Flags(pattern)
	if err != nil {
		t.Fatal(err)
	}
	var done []*dflag.Flag
	for _, f := range fs {
		if f.State().Unhook > 0 {
			continue
		}
		if err := f.Activate(); err != nil {
			t.Error(err)
		}
		done = append(done, f)
	}
	t.Cleanup(func() {
		for _, f := range done {
			if err := f.Deactivate(); err != nil {
				t.Error(err)
			}
		}
	})
	return len(fs)
}

// Unhook unhooks the records that pattern matches now and rehooks exactly
// those when the test ends. It returns the number matched.
func Unhook(t testing.TB, pattern string) int {
	t.Helper()
	fs, err := dflag.Flags(pattern)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if err := f.Unhook(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() {
		for _, f := range fs {
			if err := f.Rehook(); err != nil {
				t.Error(err)
			}
		}
	})
	return len(fs)
}

var holds atomic.Int64

// Hold puts terms in force (see [dflag.Hold]) under an owner named after
// the test, "test:<name>#<n>", until the test ends, and returns the hold so
// that the test may replace its terms or release it earlier. It fails the
// test if a term is malformed.
func Hold(t testing.TB, terms ...string) *dflag.Hold {
	t.Helper()
	h, err := dflag.NewHold("test:" + t.Name() + "#" + strconv.FormatInt(holds.Add(1), 10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Release(); err != nil {
			t.Error(err)
		}
	})
	if err := h.Replace(terms...); err != nil {
		t.Fatal(err)
	}
	return h
}

// HoldKind holds every flag of kind on (see [dflag.HoldKind]) until the
// test ends.
func HoldKind(t testing.TB, kind string) {
	t.Helper()
	release, err := dflag.HoldKind(kind)
	if release == nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	if err != nil {
		t.Error(err)
	}
}
