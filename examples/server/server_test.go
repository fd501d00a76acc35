package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/tracing"
	"bounded.dev/tracing/tracestore"
)

var listenRE = regexp.MustCompile(`^listening on (http://\S+) `)

// waitBase reads the server's first line and returns its base URL, and
// the curl lines it printed.
func waitBase(t *testing.T, r io.Reader) (string, []string) {
	t.Helper()
	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the server's address: %v (%q)", err, line)
	}
	m := listenRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("first line %q", line)
	}
	var curls []string
	for range 4 {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "curl ") {
			curls = append(curls, l)
		}
	}
	go io.Copy(io.Discard, br)
	return m[1], curls
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// curlURL extracts the URL of a printed curl line.
func curlURL(t *testing.T, line string) string {
	t.Helper()
	i, j := strings.IndexByte(line, '\''), strings.LastIndexByte(line, '\'')
	if i < 0 || j <= i {
		t.Fatalf("curl line %q", line)
	}
	return line[i+1 : j]
}

// checkTrace follows the printed curl lines: the opted-in request, then
// the trace, found by the id in its traceresponse header, at
// /debug/traces.
func checkTrace(t *testing.T, base string, curls []string) {
	t.Helper()
	if len(curls) != 3 || !strings.Contains(curls[0], "tracing=1") || !strings.Contains(curls[1], "/debug/traces") ||
		!strings.HasSuffix(curls[2], "/metrics'") {
		t.Fatalf("curl lines %q", curls)
	}
	resp, body := get(t, curlURL(t, curls[0]))
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"item 42"`) || !strings.Contains(body, `"price":`) {
		t.Fatalf("%s %s", resp.Status, body)
	}
	tr := resp.Header.Get("Traceresponse")
	parts := strings.Split(tr, "-")
	if len(parts) != 4 {
		t.Fatalf("traceresponse %q", tr)
	}
	traceID := parts[1]

	// An untraced request leaves no trace.
	if resp, _ := get(t, base+"/items/43"); resp.Header.Get("Traceresponse") != "" {
		t.Fatal("untraced request traced")
	}

	_, text := get(t, curlURL(t, curls[1]))
	if !strings.Contains(text, "trace "+traceID) || strings.Count(text, "\ntrace ") != 0 || !strings.HasPrefix(text, "trace ") {
		t.Fatalf("/debug/traces?format=text shows:\n%s", text)
	}
	_, js := get(t, base+"/debug/traces?format=json&trace="+traceID)
	var out struct{ Traces []tracestore.Trace }
	if err := json.Unmarshal([]byte(js), &out); err != nil || len(out.Traces) != 1 {
		t.Fatalf("%v: %.300s", err, js)
	}
	var got []string
	events := map[string]bool{}
	for _, sp := range out.Traces[0].Spans {
		got = append(got, strings.Repeat(".", sp.Depth)+sp.Name)
		for _, ev := range sp.Events {
			events[ev.Name] = true
		}
	}
	want := "GET /items/{id} .catalogue.lookup .GET ..GET /pricing/{id} ...pricing.compute"
	if strings.Join(got, " ") != want {
		t.Fatalf("spans %q, want %q", got, want)
	}
	for _, ev := range []string{"cache", "cache miss", "audit", "priced"} {
		if !events[ev] {
			t.Errorf("no %q event in %v", ev, events)
		}
	}
	_, page := get(t, base+"/debug/traces")
	if !strings.Contains(page, traceID) || !strings.Contains(page, "GET /pricing/{id}") {
		t.Fatalf("HTML page lacks the trace")
	}
	_, flags := get(t, base+"/debug/dflag/flags?pattern=request_tracing:")
	if !strings.Contains(flags, "request_tracing:catalogue_lookup@bounded.dev/examples/server/service.go:") {
		t.Fatalf("console listing:\n%s", flags)
	}
	// Where the engine patches, every call to auditTraced is a record.
	if dflag.PatchStatus() == nil && !strings.Contains(flags, "request_tracing:audit@bounded.dev/examples/server/service.go:") {
		t.Fatalf("no audit call site in the console listing:\n%s", flags)
	}
}

// TestRun runs the server in-process on a free loopback port, follows its
// curl lines and shuts it down as SIGINT would.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	base, curls := waitBase(t, pr)
	checkTrace(t, base, curls)
	// Without -etcd, the console has no fleet status to show.
	if resp, body := get(t, base+"/debug/dflag/status"); resp.StatusCode != 200 || strings.TrimSpace(body) != `{"status":{}}` {
		t.Errorf("/debug/dflag/status without -etcd: %s %s", resp.Status, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	// Every activation was released.
	if n := tracing.Kind.Holders(); n != 0 {
		t.Fatalf("%d request_tracing holders", n)
	}
}

func TestRunBadFlags(t *testing.T) {
	if err := run(context.Background(), []string{"-addr"}, io.Discard, io.Discard); err == nil {
		t.Fatal("a missing flag value was accepted")
	}
	if err := run(context.Background(), []string{"extra"}, io.Discard, io.Discard); err == nil {
		t.Fatal("an argument was accepted")
	}
}

// built is the command's binary, built once per test process by
// buildServer, in a directory TestMain removes.
var built struct {
	once sync.Once
	dir  string
	exe  string
	err  error
}

// buildServer builds the command as go run would (with -race when the
// test is) and returns its path; it skips the test without a go command.
func buildServer(t *testing.T) string {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		t.Skipf("no go command: %v", err)
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "example-server-"); built.err != nil {
			return
		}
		built.exe = filepath.Join(built.dir, "server")
		if runtime.GOOS == "windows" {
			built.exe += ".exe"
		}
		args := []string{"build", "-o", built.exe}
		if raceEnabled {
			args = append(args, "-race") // reuses the packages this test was built with
		}
		if out, err := exec.Command(gobin, append(args, ".")...).CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.exe
}

// TestBinary builds the command as go run would, runs it, follows its curl
// lines and stops it with SIGINT: it must exit 0.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGINT")
	}
	exe := buildServer(t)
	cmd := exec.Command(exe, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base, curls := waitBase(t, stdout)
	checkTrace(t, base, curls)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit after SIGINT\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Fatalf("stderr:\n%s", stderr.String())
	}
}
