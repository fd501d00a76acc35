package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/dflag/admin"
	"bounded.dev/internal/browsertest"
)

var (
	browserButton = dflag.Feature("admin_browser", "button", "clicked by the browser test")
	browserOther  = dflag.Feature("admin_browser", "other", "stays off")
)

// TestConsoleInChromium drives the console in headless Chromium: it loads
// the page, types a filter, clicks a flag's activate button with the mouse
// and waits for the page to show the new activation count; then, against a
// handler with a bearer token, it enters the token the page asks for and
// sees the listing. It talks to Chromium with the DevTools protocol over
// --remote-debugging-pipe (internal/browsertest), so it needs no package
// beyond the standard library.
func TestConsoleInChromium(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	browsertest.Need(t)
	mux := http.NewServeMux()
	var logs strings.Builder
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, nil))
	mux.Handle("/debug/dflag/", admin.Handler(admin.WithPrefix("/debug/dflag/"), admin.WithLogger(logger)))
	var statusReads, flagReads atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/debug/dflag/status":
			statusReads.Add(1)
		case "/debug/dflag/flags":
			flagReads.Add(1)
		}
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := browsertest.Start(t, ctx)
	defer b.Close()

	b.Call("Page.navigate", map[string]any{"url": srv.URL + "/debug/dflag/"}, nil)
	// The unfiltered listing shows flags of other kinds too.
	b.WaitFor(`document.querySelectorAll("#flags tr[data-name]").length > 2 &&
		document.querySelector('#flags tr[data-name^="admin_test:"]') !== null`)

	b.Eval(`document.querySelector("#filter").focus()`)
	b.Call("Input.insertText", map[string]any{"text": "admin_browser:"}, nil)
	b.WaitFor(`(() => {
		const rows = [...document.querySelectorAll("#flags tr[data-name]")];
		return rows.length === 2 && rows.every((r) => r.dataset.name.startsWith("admin_browser:")) &&
			document.querySelector("#count").textContent === "2 flags, 0 on, 0 call sites.";
	})()`)
	if got := b.Eval(`document.querySelector('#flags tr[data-name^="admin_browser:button@"] td.act').textContent`); got != "0" {
		t.Fatalf("activation before the click: %v", got)
	}

	// A real mouse click on the row's activate button.
	var pt struct{ X, Y float64 }
	raw := b.Eval(`(() => {
		const b = document.querySelector('#flags tr[data-name^="admin_browser:button@"] button.op-activate');
		b.scrollIntoView({block: "center"});
		const r = b.getBoundingClientRect();
		return {x: r.x + r.width / 2, y: r.y + r.height / 2};
	})()`)
	if err := browsertest.Remarshal(raw, &pt); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		b.Call("Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": pt.X, "y": pt.Y, "button": "left", "clickCount": 1,
		}, nil)
	}
	b.WaitFor(`document.querySelector('#flags tr[data-name^="admin_browser:button@"] td.owners').textContent.startsWith("console:127.0.0.1") &&
		document.querySelector('#flags tr[data-name^="admin_browser:button@"] td.state').textContent === "on" &&
		document.querySelector("#count").textContent === "2 flags, 1 on, 0 call sites." &&
		document.querySelector("#status").textContent.endsWith(": 1 matched")`)

	if st := browserButton.State(); !st.On || len(st.Owners) != 1 || st.Owners[0].Name != "console:127.0.0.1" || browserOther.On() {
		t.Errorf("after the click: %v, %v", browserButton.State(), browserOther.State())
	}
	if msg := b.Eval(`document.querySelector("#error").textContent`); msg != "" {
		t.Errorf("page shows an error: %v", msg)
	}
	logMu.Lock()
	if !strings.Contains(logs.String(), `msg="dflag admin: change" remote=127.0.0.1:`) {
		t.Errorf("change not logged: %s", logs.String())
	}
	logMu.Unlock()
	// The page's release button gives the change back.
	b.Click("#release")
	b.WaitFor(`document.querySelector("#count").textContent === "2 flags, 0 on, 0 call sites." &&
		document.querySelector("#status").textContent === "release (every flag): 1 matched"`)
	if browserButton.On() {
		t.Errorf("after release: %v", browserButton.State())
	}
	// A console without WithStatus shows no status panel, and the page
	// stops asking for statuses after the first empty answer.
	if hidden := b.Eval(`document.querySelector("#statuses").hidden`); hidden != true {
		t.Errorf("status panel shown without statuses")
	}
	if s, f := statusReads.Load(), flagReads.Load(); s != 1 || f < 3 {
		t.Errorf("the page read /status %d times in %d listings, want once", s, f)
	}

	// With a bearer token, the page loads, asks for the token and then
	// lists the flags.
	tokenSrv := httptest.NewServer(admin.Handler(admin.WithBearerToken("s3cret"), admin.WithLogger(logger)))
	defer tokenSrv.Close()
	b.Call("Page.navigate", map[string]any{"url": tokenSrv.URL + "/#admin_browser:"}, nil)
	b.WaitFor(`document.querySelector("#auth") !== null && !document.querySelector("#auth").hidden &&
		document.querySelector("#error").textContent === "missing bearer token"`)
	b.Eval(`document.querySelector("#token").focus()`)
	b.Call("Input.insertText", map[string]any{"text": "s3cret"}, nil)
	b.Eval(`document.querySelector("#token-save").click()`)
	b.WaitFor(`document.querySelector("#count").textContent === "2 flags, 0 on, 0 call sites." &&
		document.querySelector("#auth").hidden && document.querySelector("#error").textContent === ""`)
}

// lockedWriter serializes writes to w, the test's log.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
