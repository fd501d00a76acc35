package admin_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/dflag/admin"
	"bounded.dev/internal/browsertest"
)

var attackTarget = dflag.Feature("admin_attack", "target", "what the attacking pages try to switch")

// recorder wraps the console and records the status of each request that
// reaches it, so that a test knows the browser really sent the attack.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	seen []string // "METHOD path status"
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{w, 200}
	rec.next.ServeHTTP(sw, r)
	rec.mu.Lock()
	rec.seen = append(rec.seen, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, sw.code))
	rec.mu.Unlock()
}

func (rec *recorder) snapshot() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.seen...)
}

// waitSeen waits until the console has seen n requests.
func (rec *recorder) waitSeen(ctx context.Context, t *testing.T, n int) []string {
	t.Helper()
	for {
		if s := rec.snapshot(); len(s) >= n {
			return s
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the console saw only %q, want %d requests", rec.snapshot(), n)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// TestCrossSiteAttacksInChromium serves an attacking page from another
// loopback origin (127.0.0.2) and lets headless Chromium load it: an
// <img>, a no-cors fetch of a listing, a no-cors POST fetch and a
// self-submitting form all reach the console, which refuses each with 403
// and changes nothing.
func TestCrossSiteAttacksInChromium(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	browsertest.Need(t)
	rec := &recorder{next: admin.Handler(quiet)}
	console := httptest.NewServer(rec)
	defer console.Close()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	evil := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!DOCTYPE html><html><body>
<img src="%[1]s/flags?pattern=admin_attack:">
<iframe name="sink"></iframe>
<form id="f" method="POST" action="%[1]s/flags" target="sink">
<input name="op" value="activate"><input name="pattern" value="admin_attack:"></form>
<script>
fetch("%[1]s/flags?pattern=", {mode: "no-cors"}).catch(() => {});
fetch("%[1]s/flags", {method: "POST", mode: "no-cors", body: new URLSearchParams({op: "unhook", pattern: ""})}).catch(() => {});
document.getElementById("f").submit();
</script></body></html>`, console.URL)
	}))
	evil.Listener.Close()
	evil.Listener = ln
	evil.Start()
	defer evil.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := browsertest.Start(t, ctx)
	defer b.Close()
	before := snapshot(t)
	b.Call("Page.navigate", map[string]any{"url": evil.URL + "/"}, nil)
	seen := rec.waitSeen(ctx, t, 4)
	time.Sleep(200 * time.Millisecond) // let any late request arrive
	seen = rec.snapshot()
	var gets, posts int
	for _, s := range seen {
		if !strings.HasSuffix(s, " 403") {
			t.Errorf("a cross-site request was served: %s (all: %q)", s, seen)
		}
		switch {
		case strings.HasPrefix(s, "GET /flags"):
			gets++
		case strings.HasPrefix(s, "POST /flags"):
			posts++
		}
	}
	if gets < 2 || posts < 2 {
		t.Errorf("the browser sent %d listings and %d changes, want 2 and 2: %q", gets, posts, seen)
	}
	sameState(t, before)
	if attackTarget.On() {
		t.Error("the attack switched the flag on")
	}
}

// TestDNSRebindingInChromium simulates DNS rebinding: Chromium resolves
// attacker.test to 127.0.0.1, where the attacker's page and the console
// are served by one server, so the page is same-origin with the console
// and its Origin equals its Host. The console refuses its listing and its
// change with 403 because Host is not a local name; the same page opened
// as 127.0.0.1 (the control) does switch the flag, so it is the Host check
// that stops the attack.
func TestDNSRebindingInChromium(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	browsertest.Need(t)
	mux := http.NewServeMux()
	mux.Handle("/debug/dflag/", admin.Handler(quiet, admin.WithPrefix("/debug/dflag/")))
	mux.HandleFunc("/evil", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!DOCTYPE html><html><body><pre id="out"></pre><script>
(async () => {
  const out = [];
  try {
    const l = await fetch("/debug/dflag/flags?pattern=admin_attack:", {headers: {Accept: "application/json"}});
    out.push("list " + l.status + " " + (await l.text()).slice(0, 200));
    const c = await fetch("/debug/dflag/flags", {method: "POST", body: new URLSearchParams({op: "activate", pattern: "admin_attack:"})});
    out.push("change " + c.status + " " + (await c.text()).slice(0, 200));
  } catch (e) { out.push("error " + e); }
  document.getElementById("out").textContent = out.join("\n");
  document.title = "done " + location.hostname;
})();
</script></body></html>`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := browsertest.Start(t, ctx, "--host-resolver-rules=MAP attacker.test 127.0.0.1")
	defer b.Close()
	before := snapshot(t)
	b.Call("Page.navigate", map[string]any{"url": "http://attacker.test:" + port + "/evil"}, nil)
	b.WaitFor(`document.title === "done attacker.test"`)
	out, _ := b.Eval(`document.getElementById("out").textContent`).(string)
	if !strings.Contains(out, "list 403") || !strings.Contains(out, "change 403") || !strings.Contains(out, "DNS-rebinding") {
		t.Errorf("rebound page got:\n%s", out)
	}
	sameState(t, before)

	// The control: the same page from a local name works.
	b.Call("Page.navigate", map[string]any{"url": "http://127.0.0.1:" + port + "/evil"}, nil)
	b.WaitFor(`document.title === "done 127.0.0.1"`)
	out, _ = b.Eval(`document.getElementById("out").textContent`).(string)
	if !strings.Contains(out, "list 200") || !strings.Contains(out, "change 200") || !attackTarget.On() {
		t.Errorf("control page got:\n%s", out)
	}
	dflag.Deactivate("admin_attack:")
}

// TestMalformedHashInChromium opens the console with a URL hash that is
// not valid percent-encoding: the page shows the error and still lists
// the flags instead of staying blank.
func TestMalformedHashInChromium(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	browsertest.Need(t)
	srv := httptest.NewServer(admin.Handler(quiet))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := browsertest.Start(t, ctx)
	defer b.Close()
	b.Call("Page.navigate", map[string]any{"url": srv.URL + "/#%E0%A4%A"}, nil)
	b.WaitFor(`document.querySelector("#error").textContent.includes("not valid percent-encoding") &&
		document.querySelectorAll("#flags tr").length > 2`)
}
