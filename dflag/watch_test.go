package dflag_test

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"bounded.dev/dflag"
)

// captureLog sends the default slog logger's records to a buffer until the
// test ends.
func captureLog(t *testing.T) *syncBuffer {
	t.Helper()
	buf := new(syncBuffer)
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var watchPanic = dflag.Opt("watch_panic", "f")

// TestPanickingWatcherIsContained pins issue 10 item 8: a watcher's panic
// neither leaks a kind hold nor escapes, and is logged.
func TestPanickingWatcherIsContained(t *testing.T) {
	logs := captureLog(t)
	var others atomic.Int64
	stop := dflag.Watch(func(ev dflag.Event) {
		if ev.Kind == "watch_panic" {
			panic("watcher bug")
		}
	})
	defer stop()
	stopOther := dflag.Watch(func(ev dflag.Event) {
		if ev.Kind == "watch_panic" {
			others.Add(1)
		}
	})
	defer stopOther()

	release, err := dflag.HoldKind("watch_panic")
	if err != nil || release == nil {
		t.Fatalf("HoldKind = %v, %v; want its release", release != nil, err)
	}
	if !watchPanic.On() || watchPanic.State().Activation != 1 {
		t.Fatalf("under the hold: %v", watchPanic.State())
	}
	release()
	if watchPanic.On() || watchPanic.State().Activation != 0 {
		t.Fatalf("after release: %v", watchPanic.State())
	}
	if n, err := dflag.ActivateKind("watch_panic", ""); n != 1 || err != nil || !watchPanic.On() {
		t.Fatalf("ActivateKind = %d, %v", n, err)
	}
	dflag.DeactivateKind("watch_panic", "")
	if n := others.Load(); n != 4 {
		t.Errorf("the other watcher saw %d events, want 4", n)
	}
	if out := logs.String(); strings.Count(out, "Watch callback panicked") != 4 || !strings.Contains(out, "watcher bug") || !strings.Contains(out, "level=ERROR") {
		t.Errorf("log:\n%s", out)
	}
}

// TestConcurrentInit pins issue 10 item 9 in a child process (Init runs
// once per process): every concurrent Init returns after the terms are
// applied, with the first call's result.
func TestConcurrentInit(t *testing.T) {
	for _, c := range []struct{ dflag, want string }{
		{"+ctor:feature", "all 16 saw feature=true err=<nil>"},
		{"+ctor:feature +(", `all 16 saw feature=false err=dflag: term "+(": invalid pattern`},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentInitChild$", "-test.v")
		cmd.Env = append(os.Environ(), "DFLAG_TEST_CHILD=concurrent", "DFLAG="+c.dflag, "DFLAG_FILE=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "child: "+c.want) {
			t.Errorf("DFLAG=%q: child output does not contain %q:\n%s", c.dflag, c.want, out)
		}
	}
}

func TestConcurrentInitChild(t *testing.T) {
	if os.Getenv("DFLAG_TEST_CHILD") != "concurrent" {
		t.Skip("run by TestConcurrentInit")
	}
	const n = 16
	results := make([]string, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			err := dflag.Init()
			results[i] = "feature=" + strconvBool(ctorFeature.On()) + " err=" + errString(err)
		})
	}
	start.Done()
	wg.Wait()
	for _, r := range results[1:] {
		if r != results[0] {
			t.Fatalf("child: results differ: %q", results)
		}
	}
	t.Logf("child: all %d saw %s", n, results[0])
}

func strconvBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
