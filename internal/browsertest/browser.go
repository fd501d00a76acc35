package browsertest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// ChromiumPath is where the tests look for Chromium (Debian's package puts
// it there).
const ChromiumPath = "/usr/bin/chromium"

// Need skips the test when Chromium is missing or the system is not Linux
// (the DevTools pipe is set up for Linux), or fails it instead when the
// environment sets BOUNDED_REQUIRE_TOOLS=1 (as in CI).
func Need(t testing.TB) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("BOUNDED_REQUIRE_TOOLS") == "1" {
		skip = t.Fatalf
	}
	if runtime.GOOS != "linux" {
		skip("browsertest: the DevTools pipe is set up for Linux, not %s", runtime.GOOS)
		return
	}
	if _, err := os.Stat(ChromiumPath); err != nil {
		skip("browsertest: no %s (run .ci/install-chromium): %v", ChromiumPath, err)
	}
}

// Args returns the project's command-line flags for headless Chromium, with
// its profile in userDataDir (a fresh t.TempDir()): no sandbox, no GPU, no
// background traffic, QUIC, first-run dialogs, component updates or sync.
func Args(userDataDir string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + userDataDir,
	}
}

// Browser is a page in a headless Chromium, driven over the DevTools pipe.
// Its methods are for the test goroutine.
type Browser struct {
	t       testing.TB
	ctx     context.Context
	cmd     *exec.Cmd
	w       *os.File
	session string

	mu       sync.Mutex
	next     int
	pending  map[int]chan message
	problems []string // exceptions, console errors and policy violations
}

type message struct {
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

// syncBuilder collects Chromium's standard error.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start starts Chromium with [Args] and extraArgs (such as
// --host-resolver-rules=...), opens an about:blank page and attaches to
// it. ctx bounds every later call and wait; the caller should defer
// [Browser.Close]. Call [Need] before Start.
func Start(t testing.TB, ctx context.Context, extraArgs ...string) *Browser {
	t.Helper()
	cmdR, cmdW, err := os.Pipe() // our commands, Chromium's fd 3
	if err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe() // Chromium's fd 4, our replies
	if err != nil {
		t.Fatal(err)
	}
	args := append(Args(t.TempDir()),
		"--no-proxy-server", "--no-default-browser-check", "--mute-audio", "--remote-debugging-pipe")
	args = append(append(args, extraArgs...), "about:blank")
	cmd := exec.Command(ChromiumPath, args...)
	cmd.ExtraFiles = []*os.File{cmdR, evW}
	stderr := new(syncBuilder)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("browsertest: start %s: %v", ChromiumPath, err)
	}
	cmdR.Close()
	evW.Close()
	b := &Browser{t: t, ctx: ctx, cmd: cmd, w: cmdW, pending: map[int]chan message{}}
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
	b.Call("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	b.Call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	b.Call("Runtime.enable", nil, nil)
	b.Call("Page.enable", nil, nil)
	b.Call("Log.enable", nil, nil) // CSP violations arrive as log entries
	return b
}

func (b *Browser) read(r *bufio.Reader) {
	for {
		line, err := r.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.pending = nil // later calls fail at once
			b.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(line[:len(line)-1], &m); err != nil {
			continue
		}
		p := string(m.Params)
		b.mu.Lock()
		switch {
		case m.ID != 0:
			if ch := b.pending[m.ID]; ch != nil {
				ch <- m
				delete(b.pending, m.ID)
			}
		case m.Method == "Runtime.exceptionThrown",
			m.Method == "Runtime.consoleAPICalled" && strings.Contains(p, `"type":"error"`),
			m.Method == "Log.entryAdded" && (strings.Contains(p, `"level":"error"`) || strings.Contains(p, "Content Security Policy")):
			b.problems = append(b.problems, p)
		}
		b.mu.Unlock()
	}
}

// Call sends a DevTools command, in the page's session, and decodes its
// result into result unless it is nil. It fails the test on an error.
func (b *Browser) Call(method string, params, result any) {
	b.t.Helper()
	if err := b.Try(method, params, result); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
}

// Try is [Browser.Call] that returns the error.
func (b *Browser) Try(method string, params, result any) error {
	b.mu.Lock()
	if b.pending == nil {
		b.mu.Unlock()
		return errors.New("chromium closed the pipe")
	}
	b.next++
	id := b.next
	ch := make(chan message, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := message{ID: id, Method: method, SessionID: b.session}
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

// Eval evaluates a JavaScript expression in the page, awaiting it if it
// is a promise, and returns its value as encoding/json decodes it. It
// fails the test when the expression throws.
func (b *Browser) Eval(expr string) any {
	b.t.Helper()
	v, err := b.TryEval(expr)
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// TryEval is [Browser.Eval] that returns the error.
func (b *Browser) TryEval(expr string) (any, error) {
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
	err := b.Try("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if err != nil {
		return nil, err
	}
	if e := res.ExceptionDetails; e != nil {
		return nil, fmt.Errorf("%s %s", e.Text, e.Exception.Description)
	}
	return res.Result.Value, nil
}

// EvalInto evaluates expr and decodes its value into out, a pointer.
func (b *Browser) EvalInto(expr string, out any) {
	b.t.Helper()
	if err := Remarshal(b.Eval(expr), out); err != nil {
		b.t.Fatalf("decode the value of %s: %v", expr, err)
	}
}

// WaitFor polls until the expression is true; the only limit is the
// context given to [Start], so a slow machine makes the test slower, not
// flaky. On timeout it fails the test with the last value and the page's
// text.
func (b *Browser) WaitFor(expr string) {
	b.t.Helper()
	var last any
	var lastErr error
	for {
		v, err := b.TryEval(expr)
		if v == true {
			return
		}
		last, lastErr = v, err
		select {
		case <-b.ctx.Done():
			html, _ := b.TryEval(`document.body ? document.body.innerText : ""`)
			b.t.Fatalf("waiting for %s: %v (last %v, %v)\npage text:\n%v", expr, b.ctx.Err(), last, lastErr, html)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Navigate loads url and waits until the document has loaded.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.Call("Page.navigate", map[string]any{"url": url}, nil)
	b.WaitFor(`document.readyState === "complete" && location.href === ` + JSString(url))
}

// Resize sets the page's viewport, in CSS pixels.
func (b *Browser) Resize(width, height int) {
	b.t.Helper()
	b.Call("Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
}

// Click moves the mouse to the middle of the element selector finds
// (scrolled into view) and clicks it with the left button, as a user would.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	var pt struct{ X, Y float64 }
	b.EvalInto(`(() => {
		const e = document.querySelector(`+JSString(selector)+`);
		e.scrollIntoView({block: "center"});
		const r = e.getBoundingClientRect();
		return {x: r.left + r.width / 2, y: r.top + r.height / 2};
	})()`, &pt)
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		b.Call("Input.dispatchMouseEvent", map[string]any{"type": typ, "x": pt.X, "y": pt.Y, "button": "left", "clickCount": 1}, nil)
	}
}

// TypeInto focuses the element selector finds, selects its text, and types
// text as keyboard input.
func (b *Browser) TypeInto(selector, text string) {
	b.t.Helper()
	b.Eval(`(() => { const e = document.querySelector(` + JSString(selector) + `); e.focus(); e.select && e.select(); })()`)
	b.Call("Input.insertText", map[string]any{"text": text}, nil)
}

// Screenshot captures the whole page, beyond the viewport, as PNG, writes
// it to each of paths and returns it.
func (b *Browser) Screenshot(paths ...string) []byte {
	b.t.Helper()
	var res struct{ Data string }
	b.Call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil || len(png) < 1000 {
		b.t.Fatalf("screenshot: %v (%d bytes)", err, len(png))
	}
	for _, p := range paths {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	return png
}

// TakeProblems returns and forgets the exceptions, console errors and
// policy violations the page reported.
func (b *Browser) TakeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// Close asks Chromium to quit and waits for it, killing it after five
// seconds.
func (b *Browser) Close() {
	b.session = ""
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.ctx = ctx
	b.Try("Browser.close", nil, nil)
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

// Remarshal converts v, a value [Browser.Eval] returned, into out (a
// pointer to a struct, say) by way of JSON.
func Remarshal(v any, out any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// JSString quotes s as a JavaScript string literal.
func JSString(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}
