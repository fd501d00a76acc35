package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/dflag/admin"
)

const chromiumPath = "/usr/bin/chromium"

var (
	browserButton = dflag.Feature("admin_browser", "button", "clicked by the browser test")
	browserOther  = dflag.Feature("admin_browser", "other", "stays off")
)

// TestConsoleInChromium drives the console in headless Chromium: it loads
// the page, types a filter, clicks a flag's activate button with the mouse
// and waits for the page to show the new activation count; then, against a
// handler with a bearer token, it enters the token the page asks for and
// sees the listing. It talks to
// Chromium with the DevTools protocol over --remote-debugging-pipe, so it
// needs no package beyond the standard library.
func TestConsoleInChromium(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	needChromium(t)
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
	b := startBrowser(t, ctx)
	defer b.close()

	b.call("Page.navigate", map[string]any{"url": srv.URL + "/debug/dflag/"}, nil)
	// The unfiltered listing shows flags of other kinds too.
	b.waitFor(`document.querySelectorAll("#flags tr[data-name]").length > 2 &&
		document.querySelector('#flags tr[data-name^="admin_test:"]') !== null`)

	b.eval(`document.querySelector("#filter").focus()`)
	b.call("Input.insertText", map[string]any{"text": "admin_browser:"}, nil)
	b.waitFor(`(() => {
		const rows = [...document.querySelectorAll("#flags tr[data-name]")];
		return rows.length === 2 && rows.every((r) => r.dataset.name.startsWith("admin_browser:")) &&
			document.querySelector("#count").textContent === "2 flags, 0 on, 0 call sites.";
	})()`)
	if got := b.eval(`document.querySelector('#flags tr[data-name^="admin_browser:button@"] td.act').textContent`); got != "0" {
		t.Fatalf("activation before the click: %v", got)
	}

	// A real mouse click on the row's activate button.
	var pt struct{ X, Y float64 }
	raw := b.eval(`(() => {
		const b = document.querySelector('#flags tr[data-name^="admin_browser:button@"] button.op-activate');
		b.scrollIntoView({block: "center"});
		const r = b.getBoundingClientRect();
		return {x: r.x + r.width / 2, y: r.y + r.height / 2};
	})()`)
	if err := remarshal(raw, &pt); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		b.call("Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": pt.X, "y": pt.Y, "button": "left", "clickCount": 1,
		}, nil)
	}
	b.waitFor(`document.querySelector('#flags tr[data-name^="admin_browser:button@"] td.owners').textContent.startsWith("console:127.0.0.1") &&
		document.querySelector('#flags tr[data-name^="admin_browser:button@"] td.state').textContent === "on" &&
		document.querySelector("#count").textContent === "2 flags, 1 on, 0 call sites." &&
		document.querySelector("#status").textContent.endsWith(": 1 matched")`)

	if st := browserButton.State(); !st.On || len(st.Owners) != 1 || st.Owners[0].Name != "console:127.0.0.1" || browserOther.On() {
		t.Errorf("after the click: %v, %v", browserButton.State(), browserOther.State())
	}
	if msg := b.eval(`document.querySelector("#error").textContent`); msg != "" {
		t.Errorf("page shows an error: %v", msg)
	}
	logMu.Lock()
	if !strings.Contains(logs.String(), `msg="dflag admin: change" remote=127.0.0.1:`) {
		t.Errorf("change not logged: %s", logs.String())
	}
	logMu.Unlock()
	// The page's release button gives the change back.
	b.click("#release")
	b.waitFor(`document.querySelector("#count").textContent === "2 flags, 0 on, 0 call sites." &&
		document.querySelector("#status").textContent === "release (every flag): 1 matched"`)
	if browserButton.On() {
		t.Errorf("after release: %v", browserButton.State())
	}
	// A console without WithStatus shows no status panel, and the page
	// stops asking for statuses after the first empty answer.
	if hidden := b.eval(`document.querySelector("#statuses").hidden`); hidden != true {
		t.Errorf("status panel shown without statuses")
	}
	if s, f := statusReads.Load(), flagReads.Load(); s != 1 || f < 3 {
		t.Errorf("the page read /status %d times in %d listings, want once", s, f)
	}

	// With a bearer token, the page loads, asks for the token and then
	// lists the flags.
	tokenSrv := httptest.NewServer(admin.Handler(admin.WithBearerToken("s3cret"), admin.WithLogger(logger)))
	defer tokenSrv.Close()
	b.call("Page.navigate", map[string]any{"url": tokenSrv.URL + "/#admin_browser:"}, nil)
	b.waitFor(`document.querySelector("#auth") !== null && !document.querySelector("#auth").hidden &&
		document.querySelector("#error").textContent === "missing bearer token"`)
	b.eval(`document.querySelector("#token").focus()`)
	b.call("Input.insertText", map[string]any{"text": "s3cret"}, nil)
	b.eval(`document.querySelector("#token-save").click()`)
	b.waitFor(`document.querySelector("#count").textContent === "2 flags, 0 on, 0 call sites." &&
		document.querySelector("#auth").hidden && document.querySelector("#error").textContent === ""`)
}

// needChromium skips the test when Chromium is missing, or fails it when
// BOUNDED_REQUIRE_TOOLS=1 (as in CI).
func needChromium(t *testing.T) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("BOUNDED_REQUIRE_TOOLS") == "1" {
		skip = t.Fatalf
	}
	if runtime.GOOS != "linux" {
		skip("the DevTools pipe is set up for Linux")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		skip("no %s (run .ci/install-chromium): %v", chromiumPath, err)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// browser is a minimal DevTools protocol client over Chromium's pipe: JSON
// messages separated by NUL bytes, read from fd 3 and written to fd 4 by
// Chromium.
type browser struct {
	t       *testing.T
	ctx     context.Context
	cmd     *exec.Cmd
	w       *os.File
	session string
	readErr chan error

	mu       sync.Mutex
	next     int
	pending  map[int]chan cdpMessage
	problems []string // exceptions and console errors, for diagnosis
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func startBrowser(t *testing.T, ctx context.Context, extraArgs ...string) *browser {
	t.Helper()
	cmdR, cmdW, err := os.Pipe() // our commands, Chromium's fd 3
	if err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe() // Chromium's fd 4, our replies
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-proxy-server", "--no-default-browser-check", "--mute-audio",
		"--user-data-dir=" + t.TempDir(), "--remote-debugging-pipe"}, extraArgs...)
	cmd := exec.Command(chromiumPath, append(args, "about:blank")...)
	cmd.ExtraFiles = []*os.File{cmdR, evW}
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{&stderr, new(sync.Mutex)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmdR.Close()
	evW.Close()
	b := &browser{t: t, ctx: ctx, cmd: cmd, w: cmdW, pending: map[int]chan cdpMessage{}, readErr: make(chan error, 1)}
	go b.read(bufio.NewReader(evR))
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			t.Logf("page problems: %q", b.problems)
			b.mu.Unlock()
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	})

	var target struct{ TargetID string }
	b.call("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	b.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	b.call("Runtime.enable", nil, nil)
	b.call("Page.enable", nil, nil)
	return b
}

func (b *browser) read(r *bufio.Reader) {
	for {
		line, err := r.ReadBytes(0)
		if err != nil {
			b.readErr <- err
			b.mu.Lock()
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m cdpMessage
		if err := json.Unmarshal(line[:len(line)-1], &m); err != nil {
			continue
		}
		b.mu.Lock()
		switch {
		case m.ID != 0:
			if ch := b.pending[m.ID]; ch != nil {
				ch <- m
				delete(b.pending, m.ID)
			}
		case m.Method == "Runtime.exceptionThrown" || m.Method == "Runtime.consoleAPICalled" && strings.Contains(string(m.Params), `"type":"error"`):
			b.problems = append(b.problems, string(m.Params))
		}
		b.mu.Unlock()
	}
}

// call sends a command, in the page's session once there is one, and
// decodes its result into result unless it is nil.
func (b *browser) call(method string, params, result any) {
	b.t.Helper()
	if err := b.try(method, params, result); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
}

func (b *browser) try(method string, params, result any) error {
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpMessage, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := cdpMessage{ID: id, Method: method, SessionID: b.session}
	if params != nil {
		p, err := json.Marshal(params)
		if err != nil {
			return err
		}
		msg.Params = p
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := b.w.Write(append(data, 0)); err != nil {
		return err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return errors.New("chromium closed the pipe")
		}
		if m.Error != nil {
			return fmt.Errorf("error %d: %s", m.Error.Code, m.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-b.ctx.Done():
		return b.ctx.Err()
	}
}

// eval evaluates a JavaScript expression in the page and returns its
// value.
func (b *browser) eval(expr string) any {
	b.t.Helper()
	v, err := b.tryEval(expr)
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) tryEval(expr string) (any, error) {
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := b.try("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if err != nil {
		return nil, err
	}
	if e := res.ExceptionDetails; e != nil {
		return nil, fmt.Errorf("%s %s", e.Text, e.Exception.Description)
	}
	return res.Result.Value, nil
}

// waitFor polls until the expression is true; the only limit is the test's
// context, so a slow machine makes the test slower, not flaky.
func (b *browser) waitFor(expr string) {
	b.t.Helper()
	var last any
	var lastErr error
	for {
		v, err := b.tryEval(expr)
		if v == true {
			return
		}
		last, lastErr = v, err
		select {
		case <-b.ctx.Done():
			html, _ := b.tryEval(`document.body ? document.body.innerText : ""`)
			b.t.Fatalf("waiting for %s: %v (last %v, %v)\npage text:\n%v", expr, b.ctx.Err(), last, lastErr, html)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (b *browser) close() {
	b.session = ""
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.ctx = ctx
	b.try("Browser.close", nil, nil)
	b.w.Close()
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		b.cmd.Process.Kill()
		<-done
	}
}

func remarshal(v any, out any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}
