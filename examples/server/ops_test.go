package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/dflag/dflagtest"
	"bounded.dev/tracing"
	"github.com/google/uuid"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel"
)

func TestMain(m *testing.M) {
	// The tests do not depend on the ambient startup terms, exporters or
	// etcd.
	// run calls dflag.Init itself.
	for _, k := range append(dflagtest.Env, "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT") {
		os.Unsetenv(k)
	}
	for _, kv := range os.Environ() { // nor on an ambient fleet configuration
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DFLAG_ETCD_") {
			os.Unsetenv(k)
		}
	}
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is the server run in-process on a free loopback port.
type running struct {
	base   string
	curls  []string
	stderr *syncBuffer
	stop   func() error // cancels run and returns its error
}

func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	stderr := &syncBuffer{}
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw, stderr)
		pw.Close()
	}()
	base, curls := waitBase(t, pr)
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return &running{base: base, curls: curls, stderr: stderr, stop: stop}
}

// scrape reads /metrics and parses it as Prometheus does.
func scrape(t *testing.T, base string) map[string]map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	// family -> "label=value,..." -> value
	out := map[string]map[string]float64{}
	for name, f := range fams {
		out[name] = map[string]float64{}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue() + float64(m.GetHistogram().GetSampleCount())
			out[name][strings.Join(labels, ",")] = v
		}
	}
	return out
}

// sum adds the values of a family whose labels contain all of want.
func sum(fam map[string]float64, want ...string) float64 {
	var total float64
next:
	for labels, v := range fam {
		for _, w := range want {
			if !strings.Contains(","+labels+",", ","+w+",") {
				continue next
			}
		}
		total += v
	}
	return total
}

// TestMetrics scrapes /metrics of the real server after a traced request:
// it parses, and it holds the dflag metrics (control operations, flips,
// patched call sites and the engine's own counts where the engine
// patches, flags on by kind) and the
// resource as target_info.
func TestMetrics(t *testing.T) {
	srv := start(t)
	// The kind may still linger from an earlier test: end it, so that the
	// traced request switches request_tracing (and its call sites) on.
	tracing.Kind.Flush()
	resp, _ := get(t, srv.base+"/items/42?tracing=1")
	if resp.Header.Get("Traceresponse") == "" {
		t.Fatalf("not traced: %s", resp.Header.Get("X-Tracing-Refused"))
	}
	console(t, srv.base, "deactivate", "breaker:recommendations@")
	console(t, srv.base, "activate", "breaker:recommendations@")
	m := scrape(t, srv.base)
	for _, name := range []string{"dflag_operations_total", "dflag_flips_total", "dflag_flags", "dflag_flags_on", "target_info"} {
		if len(m[name]) == 0 {
			t.Errorf("no %s in /metrics", name)
		}
	}
	// The traced request's activation, and the two console changes (each
	// flips the breaker).
	if sum(m["dflag_operations_total"], "dflag_kind=request_tracing") < 1 ||
		sum(m["dflag_operations_total"]) < 3 || sum(m["dflag_flips_total"]) < 3 {
		t.Errorf("dflag_operations_total: %v, dflag_flips_total %v", m["dflag_operations_total"], m["dflag_flips_total"])
	}
	if sum(m["dflag_flags"], "dflag_kind=request_tracing") < 3 || sum(m["dflag_flags"], "dflag_kind=breaker") != 1 {
		t.Errorf("dflag_flags: %v", m["dflag_flags"])
	}
	if dflag.PatchStatus() == nil {
		// The traced request switched the audit call sites on.
		if sum(m["dflag_sites_patched_total"]) < 1 {
			t.Errorf("dflag_sites_patched_total: %v", m["dflag_sites_patched_total"])
		}
		// The engine's own counts since the process started.
		if sum(m["dflag_engine_code_written_bytes_total"]) < 1 || sum(m["dflag_engine_mprotects_total"]) < 2 {
			t.Errorf("engine counts: written %v, mprotects %v", m["dflag_engine_code_written_bytes_total"], m["dflag_engine_mprotects_total"])
		}
		if sum(m["dflag_patch_duration_seconds"]) < 1 {
			t.Errorf("dflag_patch_duration_seconds: %v", m["dflag_patch_duration_seconds"])
		}
	}
	var info string
	for labels := range m["target_info"] {
		info = labels
	}
	if !strings.Contains(","+info+",", ",service_name=bounded-example,") {
		t.Errorf("target_info %q", info)
	}
	checkInstanceID(t, info)

	// /metrics and /debug/traces are guarded like the console: not for a
	// proxied client, a rebound Host or another site's page.
	for _, path := range []string{"/metrics", "/debug/traces"} {
		for _, hdr := range [][2]string{
			{"X-Forwarded-For", "203.0.113.7"},
			{"Host", "attacker.example"},
			{"Sec-Fetch-Site", "cross-site"},
			{"Origin", "http://attacker.example"},
		} {
			req, _ := http.NewRequest("GET", srv.base+path, nil)
			if hdr[0] == "Host" {
				req.Host = hdr[1]
			} else {
				req.Header.Set(hdr[0], hdr[1])
			}
			r2, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r2.Body.Close()
			if r2.StatusCode != http.StatusForbidden {
				t.Errorf("%s with %s: %s, want 403", path, hdr, r2.Status)
			}
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
}

func checkInstanceID(t *testing.T, labels string) {
	t.Helper()
	for _, l := range strings.Split(labels, ",") {
		if v, ok := strings.CutPrefix(l, "service_instance_id="); ok {
			if _, err := uuid.Parse(v); err != nil {
				t.Errorf("service.instance.id %q: %v", v, err)
			}
			return
		}
	}
	t.Errorf("no service_instance_id in target_info %q", labels)
}

// TestResourceFromEnv: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
// over the example's own name.
func TestResourceFromEnv(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "catalogue-eu")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging,service.name=overridden-by-OTEL_SERVICE_NAME")
	srv := start(t)
	var info string
	for labels := range scrape(t, srv.base)["target_info"] {
		info = labels
	}
	for _, want := range []string{"service_name=catalogue-eu", "deployment_environment_name=staging"} {
		if !strings.Contains(","+info+",", ","+want+",") {
			t.Errorf("target_info %q lacks %s", info, want)
		}
	}
	checkInstanceID(t, info)

	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes")
	res, err := newResource(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := res.Set().Value("service.name"); v.AsString() != "from-attributes" {
		t.Errorf("service.name %q with OTEL_RESOURCE_ATTRIBUTES only", v.AsString())
	}
}

// TestBreaker: the operator trips the Default circuit breaker from the
// console and the responses show it; activating it restores them.
func TestBreaker(t *testing.T) {
	srv := start(t)
	check := func(wantRecs bool) {
		t.Helper()
		resp, body := get(t, srv.base+"/items/7")
		hasRecs := strings.Contains(body, `"recommendations":[`)
		degraded := resp.Header.Get("X-Degraded") == "recommendations"
		if hasRecs != wantRecs || degraded == wantRecs {
			t.Fatalf("recommendations %v, X-Degraded %q, want recommendations %v: %s", hasRecs, resp.Header.Get("X-Degraded"), wantRecs, body)
		}
	}
	check(true)
	console(t, srv.base, "deactivate", "breaker:recommendations@")
	check(false)
	console(t, srv.base, "activate", "breaker:recommendations@")
	check(true)
}

// console applies op to the flags pattern selects, at the console.
func console(t *testing.T, base, op, pattern string) {
	t.Helper()
	resp, err := http.PostForm(base+"/debug/dflag/flags", url.Values{"op": {op}, "pattern": {pattern}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"matched":1`) {
		t.Fatalf("console %s %s: %s %s", op, pattern, resp.Status, b)
	}
}

// TestErrorHandler: OpenTelemetry's internal errors reach the server's log.
func TestErrorHandler(t *testing.T) {
	srv := start(t)
	otel.Handle(errors.New("probe error 7f3a"))
	if log := srv.stderr.String(); !strings.Contains(log, "opentelemetry") || !strings.Contains(log, "probe error 7f3a") {
		t.Fatalf("stderr:\n%s", log)
	}
}

// TestShutdownErrorReported: an OTLP exporter that cannot flush at
// shutdown is reported in the log and in run's error, not discarded.
func TestShutdownErrorReported(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the exporters to give up")
	}
	defer func(d time.Duration) { shutdownTimeout = d }(shutdownTimeout)
	shutdownTimeout = time.Second
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1") // nothing listens
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "200")
	srv := start(t)
	if resp, _ := get(t, srv.base+"/items/3?tracing=1"); resp.Header.Get("Traceresponse") == "" {
		t.Fatal("not traced")
	}
	err := srv.stop()
	if err == nil || !strings.Contains(err.Error(), "provider shutdown") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("run returned %v", err)
	}
	if log := srv.stderr.String(); !strings.Contains(log, "telemetry not flushed") {
		t.Fatalf("stderr:\n%s", log)
	}
}

// TestToken: -token admits a client that is not local (here, one behind a
// proxy) on all four surfaces alike, opt-in, /debug/traces, /metrics and
// the console, and local clients stay admitted.
func TestToken(t *testing.T) {
	srv := start(t, "-token", "s3cret")
	call := func(path string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	proxied := []string{"X-Forwarded-For", "203.0.113.7"}
	withToken := append([]string{"Authorization", "Bearer s3cret"}, proxied...)
	for _, c := range []struct {
		name string
		hdr  []string
		ok   bool
	}{
		{"local", nil, true},
		{"proxied", proxied, false},
		{"proxied with the token", withToken, true},
		{"proxied with another token", []string{"Authorization", "Bearer s3cre", "X-Forwarded-For", "203.0.113.7"}, false},
	} {
		traced := call("/items/5?tracing=1", c.hdr...).Header.Get("Traceresponse") != ""
		traces := call("/debug/traces", c.hdr...).StatusCode == 200
		metrics := call("/metrics", c.hdr...).StatusCode == 200
		consoleOK := call("/debug/dflag/flags?pattern=breaker:", c.hdr...).StatusCode == 200
		if traced != c.ok || traces != c.ok || metrics != c.ok || consoleOK != c.ok {
			t.Errorf("%s: traced %v, /debug/traces %v, /metrics %v, console %v; want all %v",
				c.name, traced, traces, metrics, consoleOK, c.ok)
		}
	}
}
