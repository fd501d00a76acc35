package middleware_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/internal/browsertest"
	"bounded.dev/middleware"
	"bounded.dev/tracing"
)

// TestCrossSiteOptInInChromium: a page on another origin embeds
// <img src="http://127.0.0.1:PORT/x?tracing=1">, and a DNS-rebinding page
// (a name that resolves to 127.0.0.1, simulated with Chromium's host
// resolver rules) embeds a same-origin one. Headless Chromium loads both.
// The requests reach the handler, but none is traced: request_tracing is
// never activated (so no code is patched and nothing reaches the trace
// store), the opt-in bucket keeps its only token for a legitimate client,
// and the refusals are logged with their reason.
func TestCrossSiteOptInInChromium(t *testing.T) {
	browsertest.Need(t)
	tp, exp := newProvider(t)

	var activations atomic.Int32
	stop := dflag.Watch(func(ev dflag.Event) {
		if ev.Kind == tracing.KindName && ev.Op == dflag.OpActivate {
			activations.Add(1)
		}
	})
	defer stop()

	var logMu sync.Mutex
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))

	var hits, traced atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if tracing.Opted(r.Context()) {
			traced.Add(1)
		}
		w.Header().Set("Content-Type", "image/gif")
		w.Write(gif)
	})
	// The rebinding page: served by the target itself, under the
	// attacker's name, so that its image is same-origin.
	mux.HandleFunc("GET /rebind", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><img src="/x?tracing=1&from=rebind"><img src="/x?from=rebind&tracing=1">`)
	})
	target := httptest.NewServer(middleware.Tracing(mux, middleware.WithTracerProvider(tp),
		middleware.WithLogger(logger), middleware.WithRateLimit(1e-9, 1))) // one token, never refilled
	defer target.Close()
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())

	// The attacker's site: another origin (localhost is another site than
	// 127.0.0.1).
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><title>cat pictures</title>`)
		for i := range 3 { // distinct URLs: the browser loads each
			fmt.Fprintf(w, `<img src="http://127.0.0.1:%s/x?tracing=1&n=%d">`, port, i)
		}
	}))
	defer attacker.Close()
	_, aport, _ := net.SplitHostPort(attacker.Listener.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, page := range []string{
		"http://localhost:" + aport + "/",
		"http://rebind.attacker.test:" + port + "/rebind",
	} {
		cmd := exec.CommandContext(ctx, browsertest.ChromiumPath, append(browsertest.Args(t.TempDir()),
			"--disable-extensions", "--host-resolver-rules=MAP rebind.attacker.test 127.0.0.1",
			"--virtual-time-budget=5000", "--dump-dom", page)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("chromium %s: %v\n%.2000s", page, err, out)
		}
	}

	if hits.Load() < 5 {
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("only %d image requests reached the server: the browser did not attack\n%s", hits.Load(), logs.String())
	}
	if n := traced.Load(); n != 0 {
		t.Fatalf("%d of %d cross-site or rebound requests were traced", n, hits.Load())
	}
	if n := activations.Load(); n != 0 {
		t.Fatalf("request_tracing was activated %d times", n)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans recorded", n)
	}
	logMu.Lock()
	log := logs.String()
	logMu.Unlock()
	if !strings.Contains(log, "Sec-Fetch-Site: cross-site") || !strings.Contains(log, `rebind.attacker.test`) {
		t.Fatalf("refusals not logged with their reason:\n%s", log)
	}
	// The bucket's only token is still there for a legitimate client.
	resp, _ := do(t, "GET", target.URL+"/x?tracing=1")
	if resp.Header.Get("Traceresponse") == "" || traced.Load() != 1 {
		t.Fatalf("a legitimate opt-in after the attack was refused: %q", resp.Header.Get(middleware.RefusedHeader))
	}
}

// gif is a 1x1 transparent GIF.
var gif = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
