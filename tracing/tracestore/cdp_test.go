package tracestore_test

// A minimal DevTools-protocol client for headless Chromium over
// --remote-debugging-pipe, standard library only (as dflag/admin's browser
// test has it), plus screenshots and window sizes.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const chromiumPath = "/usr/bin/chromium"

// needChromium skips the test without Chromium, unless CI requires it.
func needChromium(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the DevTools pipe is set up for Linux")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("BOUNDED_REQUIRE_TOOLS") == "1" {
			t.Fatalf("no %s and BOUNDED_REQUIRE_TOOLS=1 (run .ci/install-chromium): %v", chromiumPath, err)
		}
		t.Skipf("no %s (run .ci/install-chromium): %v", chromiumPath, err)
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
	b.call("Log.enable", nil, nil) // CSP violations arrive as log entries
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
		case m.Method == "Runtime.exceptionThrown" || m.Method == "Runtime.consoleAPICalled" && strings.Contains(string(m.Params), `"type":"error"`),
			m.Method == "Log.entryAdded" && (strings.Contains(string(m.Params), `"level":"error"`) || strings.Contains(string(m.Params), "Content Security Policy")):
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

// resize sets the page's viewport.
func (b *browser) resize(width, height int) {
	b.t.Helper()
	b.call("Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
}

// navigate loads url and waits until the document has loaded.
func (b *browser) navigate(url string) {
	b.t.Helper()
	b.call("Page.navigate", map[string]any{"url": url}, nil)
	b.waitFor(`document.readyState === "complete" && location.href === ` + jsString(url))
}

// screenshot captures the whole page as PNG into each of paths.
func (b *browser) screenshot(paths ...string) {
	b.t.Helper()
	var res struct{ Data string }
	b.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil || len(png) < 1000 {
		b.t.Fatalf("screenshot: %v (%d bytes)", err, len(png))
	}
	for _, p := range paths {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// takeProblems returns and forgets the exceptions, console errors and
// policy violations the page reported.
func (b *browser) takeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

func jsString(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}
