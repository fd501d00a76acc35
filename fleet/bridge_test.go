package fleet

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingHolds wraps the hold constructor in force and counts what the
// bridge asks of the holds, so that a test can show that a repeated value
// or a re-read does nothing at all.
type countingHolds struct {
	mu       sync.Mutex
	replaces int
	releases int
	live     map[string][]string // owner -> terms, as the bridge last set them
}

type countedHold struct {
	c     *countingHolds
	owner string
	h     holder
}

func (h *countedHold) Replace(terms ...string) error {
	err := h.h.Replace(terms...)
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	h.c.replaces++
	if err == nil {
		h.c.live[h.owner] = slices.Clone(terms)
	}
	return err
}

func (h *countedHold) Release() error {
	err := h.h.Release()
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	h.c.releases++
	delete(h.c.live, h.owner)
	return err
}

func countHolds(t *testing.T) *countingHolds {
	c := &countingHolds{live: map[string][]string{}}
	inner := newHold
	newHold = func(owner string) (holder, error) {
		h, err := inner(owner)
		if err != nil {
			return nil, err
		}
		return &countedHold{c: c, owner: owner, h: h}, nil
	}
	t.Cleanup(func() { newHold = inner })
	return c
}

func (c *countingHolds) counts() (replaces, releases int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replaces, c.releases
}

func (c *countingHolds) terms(owner string) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts, ok := c.live[owner]
	return ts, ok
}

// syncLog is a slog handler target safe for concurrent use.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// testConfig is a Config for te (or, if proxy is set, for the proxy in
// front of it) with a per-test prefix and a captured log.
func testConfig(t *testing.T, addr string) (Config, *syncLog) {
	lg := &syncLog{}
	return Config{
		Endpoints:   []string{addr},
		Prefix:      "/dflag/" + strings.ReplaceAll(t.Name(), "/", "_") + "/",
		DialTimeout: time.Second,
		Logger:      slog.New(slog.NewTextHandler(lg, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, lg
}

func startBridge(t *testing.T, cfg Config) *Bridge {
	t.Helper()
	b, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func keyStatus(b *Bridge, k string) (KeyStatus, bool) {
	for _, ks := range b.Status().Keys {
		if ks.Key == k {
			return ks, true
		}
	}
	return KeyStatus{}, false
}

func termsOf(b *Bridge, k string) string {
	ks, ok := keyStatus(b, k)
	if !ok {
		return "<none>"
	}
	return strings.Join(ks.Terms, " ")
}

func waitTerms(t *testing.T, b *Bridge, k, want string) {
	t.Helper()
	eventually(t, 5*time.Second, fmt.Sprintf("key %s: terms %q, want %q", k, termsOf(b, k), want), func() bool {
		return termsOf(b, k) == want
	})
}
