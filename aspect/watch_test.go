package aspect_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"bounded.dev/aspect"
	"bounded.dev/dflag"
)

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

var (
	panicLinger                 = aspect.New("aspect_panic_linger", aspect.WithLinger(time.Millisecond))
	panicLingerFlag *dflag.Flag = panicLinger.Opt("f")
)

// TestPanickingWatcherOnTheLingerTimer pins issue 10 item 8: a dflag.Watch
// callback that panics when the linger's timer goroutine drops the hold
// does not kill the process, and the kind ends inactive with its flags off.
func TestPanickingWatcherOnTheLingerTimer(t *testing.T) {
	logs := new(syncBuffer)
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(logs, nil)))
	defer slog.SetDefault(old)
	stop := dflag.Watch(func(ev dflag.Event) {
		if ev.Kind == panicLinger.Name() {
			panic("watcher bug on " + string(ev.Op))
		}
	})
	defer stop()

	release := panicLinger.Activate() // the hold's event panics in the watcher
	if !panicLingerFlag.On() || !panicLinger.Active() {
		t.Fatal("Activate did not switch the advice on")
	}
	release() // the drop runs on the timer goroutine, and panics there
	waitInactive(t, panicLinger)
	if panicLingerFlag.On() || panicLingerFlag.State().Activation != 0 {
		t.Fatalf("after the linger: %v", panicLingerFlag.State())
	}
	// The kind still works.
	panicLinger.Do(func() {
		if !panicLingerFlag.On() {
			t.Error("Do did not switch the advice on")
		}
	})
	waitInactive(t, panicLinger)
	out := logs.String()
	for _, want := range []string{"watcher bug on activate", "watcher bug on deactivate"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// TestNewWithOtherOptionsWarns: a second New whose options differ from the
// kind's is visible in the log (issue 15: options were ignored silently).
func TestNewWithOtherOptionsWarns(t *testing.T) {
	logs := new(syncBuffer)
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(logs, nil)))
	defer slog.SetDefault(old)
	k := aspect.New("aspect_options", aspect.WithLinger(time.Second))
	if again := aspect.New("aspect_options", aspect.WithLinger(time.Second)); again != k || logs.String() != "" {
		t.Fatalf("the same options: %v, log %q", again == k, logs.String())
	}
	if again := aspect.New("aspect_options", aspect.WithLinger(0)); again != k || k.Linger() != time.Second {
		t.Fatal("a second New changed the kind")
	}
	if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "kind=aspect_options") || !strings.Contains(out, "ignored_linger=0s") {
		t.Errorf("log: %q", out)
	}
}
