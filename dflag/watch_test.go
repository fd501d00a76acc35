package dflag_test

import (
	"bytes"
	"log/slog"
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
