package admin_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/dflag/admin"
)

// getStatus reads GET /status from a real server as a client that accepts
// JSON.
func getStatus(t *testing.T, url string) (int, admin.Statuses, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/status", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var st admin.Statuses
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("status JSON: %v: %s", err, body)
		}
	}
	return resp.StatusCode, st, string(body)
}

// TestStatusRealServer serves statuses on a real loopback server: values
// appear under their names, each read calls the function again, and a
// function that panics, hangs, returns what JSON cannot encode or too much
// is reported as that status's error (logged once) while the others and
// the flag listing are served.
func TestStatusRealServer(t *testing.T) {
	var logs strings.Builder
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, nil))
	var calls atomic.Int64
	var broken atomic.Bool
	broken.Store(true)
	hang := make(chan struct{})
	defer close(hang)
	var hung atomic.Int64
	srv := httptest.NewServer(admin.Handler(admin.WithLogger(logger), admin.WithStatusTimeout(50*time.Millisecond),
		admin.WithStatus("fleet", func() any {
			n := calls.Add(1)
			return struct {
				Connected bool   `json:"connected"`
				Age       int64  `json:"age_seconds"`
				LastError string `json:"last_error,omitempty"`
			}{n%2 == 0, n, "dial tcp 127.0.0.1:2379: connection refused"}
		}),
		admin.WithStatus("broken", func() any {
			if broken.Load() {
				panic("status source crashed")
			}
			return "fine"
		}),
		admin.WithStatus("hangs", func() any { hung.Add(1); <-hang; return 1 }),
		admin.WithStatus("nan", func() any { return math.NaN() }),
		admin.WithStatus("huge", func() any { return strings.Repeat("x", admin.MaxStatusBytes) }),
	))
	defer srv.Close()

	code, st, body := getStatus(t, srv.URL)
	if code != 200 {
		t.Fatalf("GET /status: %d %s", code, body)
	}
	if got := string(st.Status["fleet"]); got != `{"connected":false,"age_seconds":1,"last_error":"dial tcp 127.0.0.1:2379: connection refused"}` {
		t.Errorf("fleet status %s (all: %s)", got, body)
	}
	for name, want := range map[string]string{
		"broken": `status "broken": panic: status source crashed`,
		"hangs":  `status "hangs": no answer after 50ms`,
		"nan":    `status "nan": value does not encode as JSON: json: unsupported value: NaN`,
		"huge":   `status "huge": value is 16386 bytes of JSON, over the limit of 16384`,
	} {
		if got := st.Errors[name]; !strings.HasPrefix(got, want) {
			t.Errorf("error of %s: %q, want %q", name, got, want)
		}
		if _, ok := st.Status[name]; ok {
			t.Errorf("%s has a value as well as an error: %s", name, body)
		}
	}
	// The listing is served next to them.
	if code, body := send(t, "GET", srv.URL+"/flags?pattern=admin_test:", "", "", map[string]string{"Accept": "application/json"}); code != 200 || !strings.Contains(body, `"admin_test:alpha@`) {
		t.Errorf("listing beside failing statuses: %d %s", code, body)
	}

	// Each read calls the function again; a hung call is waited for, not
	// repeated; a source that recovers has a value again; a failure is
	// logged once, and so is the recovery.
	_, st, _ = getStatus(t, srv.URL)
	if got := string(st.Status["fleet"]); !strings.HasPrefix(got, `{"connected":true,"age_seconds":2,`) {
		t.Errorf("second read: fleet %s", got)
	}
	broken.Store(false)
	_, st, body = getStatus(t, srv.URL)
	if got := string(st.Status["broken"]); got != `"fine"` || st.Errors["broken"] != "" {
		t.Errorf("recovered status: %s", body)
	}
	if n := hung.Load(); n != 1 {
		t.Errorf("a hung status function was called %d times in three reads, want once", n)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if n := strings.Count(out, `msg="dflag admin: status failed; the console shows the error until it answers" status=broken err="panic: status source crashed"`); n != 1 {
		t.Errorf("panic logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, `msg="dflag admin: status failed; the console shows the error until it answers" status=hangs`); n != 1 {
		t.Errorf("hang logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, `msg="dflag admin: status answers again" status=broken`) {
		t.Errorf("recovery not logged:\n%s", out)
	}

	// /status is guarded as the listing is: a cross-site or proxied
	// request is refused, and it is charged as a listing.
	if code, body := send(t, "GET", srv.URL+"/status", "", "", map[string]string{"Sec-Fetch-Site": "cross-site"}); code != 403 {
		t.Errorf("cross-site GET /status: %d %s", code, body)
	}
	if code, body := send(t, "GET", srv.URL+"/status", "", "", map[string]string{"X-Forwarded-For": "203.0.113.7"}); code != 403 {
		t.Errorf("proxied GET /status: %d %s", code, body)
	}
	limited := httptest.NewServer(admin.Handler(quiet, admin.WithListRateLimit(0.001, 1), admin.WithStatus("x", func() any { return 1 })))
	defer limited.Close()
	if code, _, body := getStatus(t, limited.URL); code != 200 {
		t.Errorf("first status read: %d %s", code, body)
	}
	if code, _, body := getStatus(t, limited.URL); code != 429 {
		t.Errorf("status read over the listing limit: %d %s", code, body)
	}
}

// TestStatusNone: without WithStatus, GET /status is an empty object.
func TestStatusNone(t *testing.T) {
	w := serve(admin.Handler(quiet), request("GET", "/status", ""))
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"status":{}}` {
		t.Errorf("no status: %d %s", w.Code, w.Body)
	}
}

// TestStatusBadOption: Handler panics, saying why, on a bad name or a nil
// function.
func TestStatusBadOption(t *testing.T) {
	one := func() any { return 1 }
	for _, c := range []struct {
		name string
		opts []admin.Option
		want string
	}{
		{"empty name", []admin.Option{admin.WithStatus("", one)}, `admin: WithStatus(""): a status name has 1 to 64 bytes`},
		{"long name", []admin.Option{admin.WithStatus(strings.Repeat("n", 65), one)}, "a status name has 1 to 64 bytes"},
		{"control character", []admin.Option{admin.WithStatus("a\nb", one)}, `admin: WithStatus("a\nb"): a status name is printable UTF-8`},
		{"invalid UTF-8", []admin.Option{admin.WithStatus("a\xffb", one)}, "a status name is printable UTF-8"},
		{"twice", []admin.Option{admin.WithStatus("fleet", one), admin.WithStatus("fleet", one)}, `admin: WithStatus("fleet"): name given twice`},
		{"nil function", []admin.Option{admin.WithStatus("fleet", nil)}, `admin: WithStatus("fleet"): nil function`},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				p := recover()
				if msg, _ := p.(string); !strings.Contains(msg, c.want) {
					t.Errorf("panic %v, want %q", p, c.want)
				}
			}()
			admin.Handler(c.opts...)
		})
	}
}
