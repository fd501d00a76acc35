package tracestore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"bounded.dev/internal/browsertest"
	"bounded.dev/tracing/tracestore"
)

// statusLog records the status of every request to /debug/traces.
type statusLog struct {
	mu    sync.Mutex
	codes []string // "site host status"
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

func (l *statusLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: 200}
		h.ServeHTTP(sw, r)
		l.mu.Lock()
		l.codes = append(l.codes, fmt.Sprintf("%s %s %s %d", r.Method, r.Header.Get("Sec-Fetch-Site"), r.Host, sw.code))
		l.mu.Unlock()
	})
}

func (l *statusLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.codes
	l.codes = nil
	return c
}

// TestAttacksInChromium runs the two browser attacks on /debug/traces in
// headless Chromium, with attacker names resolved to loopback by
// --host-resolver-rules as a rebinding DNS server would: a page of
// rebind.test that now reaches the trace page on 127.0.0.1 reads it
// same-origin (its Origin equals its Host), and a page of attacker.test
// loads it cross-site with an <img>, a fetch and a form POST. Every
// request is refused, and the rebinding page reads no trace.
func TestAttacksInChromium(t *testing.T) {
	browsertest.Need(t)
	s := tracestore.New()
	record(t, newProvider(s), "GET /secret/{id}")
	var log statusLog
	victim := http.NewServeMux()
	victim.Handle("/debug/traces", log.wrap(s.Handler(tracestore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))))
	// What the attacker's server served before its name was rebound to
	// 127.0.0.1: a page that reads /debug/traces from its own origin.
	victim.HandleFunc("/rebind", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><title>pending</title><script>
fetch("/debug/traces?format=json").then(async (r) => {
	const body = await r.text();
	document.title = "status " + r.status + (body.includes("secret") ? " leaked" : " nothing");
}, (e) => { document.title = "failed " + e; });
</script>`)
	})
	srv := httptest.NewServer(victim)
	defer srv.Close()
	vu, _ := url.Parse(srv.URL)
	port := vu.Port()
	target := "http://127.0.0.1:" + port + "/debug/traces?format=json"
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>pending</title>
<img src="%[1]s&via=img">
<form id="f" method="post" action="%[1]s&via=form" target="sink"></form><iframe name="sink"></iframe>
<script>
fetch(%[2]q, {mode: "no-cors", credentials: "include"}).then(() => {}, () => {}).finally(() => {
	document.getElementById("f").submit();
	setTimeout(() => { document.title = "done"; }, 300);
});
</script>`, target, target+"&via=fetch")
	}))
	defer attacker.Close()
	au, _ := url.Parse(attacker.URL)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := browsertest.Start(t, ctx, "--host-resolver-rules=MAP rebind.test 127.0.0.1, MAP attacker.test 127.0.0.1")
	defer b.Close()

	// DNS rebinding: same origin for the browser, refused by the Host check.
	b.Call("Page.navigate", map[string]any{"url": "http://rebind.test:" + port + "/rebind"}, nil)
	b.WaitFor(`document.title !== "pending" && document.title !== ""`)
	if title := b.Eval(`document.title`); title != "status 403 nothing" {
		t.Errorf("rebinding page: %v", title)
	}
	for _, c := range log.take() {
		if !strings.HasSuffix(c, " 403") || !strings.Contains(c, "rebind.test") {
			t.Errorf("rebinding request answered: %s", c)
		}
	}

	// Cross-site: an <img>, a no-cors fetch and a form POST.
	b.Call("Page.navigate", map[string]any{"url": "http://attacker.test:" + au.Port() + "/"}, nil)
	b.WaitFor(`document.title === "done"`)
	var got []string
	methods := map[string]int{}
	for methods["GET"] < 2 || methods["POST"] < 1 { // the <img>, the fetch, the form
		for _, c := range log.take() {
			got = append(got, c)
			methods[strings.Fields(c)[0]]++
			if !strings.HasSuffix(c, " 403") {
				t.Errorf("cross-site request answered: %s", c)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("cross-site requests seen: %q", got)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Logf("refused: %q", got)
}
