package browsertest_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"bounded.dev/internal/browsertest"
)

const page = `<!doctype html><title>t</title>
<p id="out">none</p><button id="b" style="margin-top:1500px">go</button><input id="in" value="old">
<script src="/page.js"></script>`

const script = `document.getElementById("b").addEventListener("click", (e) => {
	document.getElementById("out").textContent = "clicked " + e.isTrusted;
});
console.error("a console error");`

// TestDriver loads a page from a loopback server under a strict CSP and
// uses every method: it clicks a button below the fold with the mouse
// (the click is trusted, so it was real input), types into a field,
// resizes the viewport, takes a screenshot, and collects the console error
// and the CSP violation the page causes.
func TestDriver(t *testing.T) {
	browsertest.Need(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Security-Policy", "default-src 'self'")
			io.WriteString(w, page+`<img src="https://example.invalid/x.png">`)
		case "/page.js":
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, script)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := browsertest.Start(t, ctx)
	defer b.Close()

	b.Resize(640, 480)
	b.Navigate(srv.URL + "/")
	if got := b.Eval(`document.title + " " + innerWidth`); got != "t 640" {
		t.Fatalf("title and width: %v", got)
	}
	b.Click("#b")
	b.WaitFor(`document.getElementById("out").textContent === "clicked true"`)
	b.TypeInto("#in", "new")
	var v struct{ Value string }
	b.EvalInto(`({value: document.getElementById("in").value})`, &v)
	if v.Value != "new" {
		t.Errorf("typed %q, want new", v.Value)
	}
	if _, err := b.TryEval(`(() => { throw new Error("boom") })()`); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a throwing expression: %v", err)
	}
	if err := b.Try("No.suchMethod", nil, nil); err == nil {
		t.Errorf("an unknown method succeeded")
	}

	file := filepath.Join(t.TempDir(), "shot.png")
	shot := b.Screenshot(file)
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 640 || h < 480 {
		t.Errorf("screenshot %dx%d, want the 640x480 viewport", w, h)
	}

	b.WaitFor(`true`)
	var problems []string
	for range 200 {
		problems = append(problems, b.TakeProblems()...)
		if slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "a console error") }) &&
			slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "Content Security Policy") }) {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "a console error") }) ||
		!slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "Content Security Policy") }) {
		t.Errorf("problems: %q, want the console error and the CSP violation", problems)
	}
	if p := b.TakeProblems(); len(p) != 0 {
		t.Errorf("problems not forgotten: %q", p)
	}
}

func TestArgs(t *testing.T) {
	got := browsertest.Args("/tmp/profile")
	for _, want := range []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync", "--user-data-dir=/tmp/profile"} {
		if !slices.Contains(got, want) {
			t.Errorf("Args lacks %s: %q", want, got)
		}
	}
}

func TestJSString(t *testing.T) {
	if got := browsertest.JSString(`a"b</script>`); got != `"a\"b\u003c/script\u003e"` {
		t.Errorf("JSString: %s", got)
	}
}
