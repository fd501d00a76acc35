package admin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"

	"bounded.dev/dflag"
	"bounded.dev/dflag/admin"
)

var (
	alpha = dflag.Feature("admin_test", "alpha", "the first flag")
	beta  = dflag.Default("admin_test", "beta")
	gamma = dflag.Opt("admin_other", "gamma", "another kind")
)

func TestMain(m *testing.M) {
	if err := dflag.Init(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

var quiet = admin.WithLogger(slog.New(slog.DiscardHandler))

// request builds a request from a loopback client.
func request(method, target, body string) *http.Request {
	var r *http.Request
	if body != "" || method == http.MethodPost {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	r.RemoteAddr, r.Host = "127.0.0.1:40000", "127.0.0.1:8080"
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func snapshot(t *testing.T) []dflag.State {
	t.Helper()
	s, err := dflag.List("")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sameState(t *testing.T, before []dflag.State) {
	t.Helper()
	if after := snapshot(t); !reflect.DeepEqual(before, after) {
		t.Errorf("state changed:\nbefore %v\nafter  %v", before, after)
	}
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestListText(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	w := serve(h, request("GET", "/flags?pattern=admin_test:", ""))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var want bytes.Buffer
	dflag.WriteList(&want, "admin_test:")
	if got := w.Body.String(); got != want.String() || !strings.Contains(got, "admin_test:alpha@bounded.dev/dflag/admin/admin_test.go:21 (off): the first flag\n") {
		t.Errorf("listing:\n%s\nwant:\n%s", got, want.String())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestListJSON(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	r := request("GET", "/flags?pattern="+url.QueryEscape("admin_(test|other):"), "")
	r.Header.Set("Accept", "text/html, application/json;q=0.9")
	w := serve(h, r)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var got []admin.Flag
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d flags, want 3: %+v", len(got), got)
	}
	want := admin.Flag{
		Name: gamma.Name(), Kind: "admin_other", Flag: "gamma", Doc: "another kind",
		File: "bounded.dev/dflag/admin/admin_test.go", Line: 23, Mode: "opt", Site: "hook",
	}
	want.Owners = []admin.Owner{}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("got %+v\nwant %+v", got[0], want)
	}
	if got[2].Name != beta.Name() || !got[2].On || got[2].Activation != 1 || got[2].Mode != "default" {
		t.Errorf("beta: %+v", got[2])
	}

	// An empty listing is an empty array, not null.
	r = request("GET", "/flags?pattern=no_such_kind:", "")
	r.Header.Set("Accept", "application/json")
	if w := serve(h, r); strings.TrimSpace(w.Body.String()) != "[]" {
		t.Errorf("empty listing: %q", w.Body)
	}
}

func TestAcceptNegotiation(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	for accept, json := range map[string]bool{
		"":                                   false,
		"*/*":                                false,
		"text/plain":                         false,
		"application/json":                   true,
		"text/html, application/json;q=0.05": true,
		"application/json;q=0":               false,
		"application/json;q=0.000":           false,
		"application/json;q=bogus":           false,
	} {
		r := request("GET", "/flags?pattern=admin_test:", "")
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		ct := serve(h, r).Header().Get("Content-Type")
		if got := ct == "application/json"; got != json {
			t.Errorf("Accept %q: Content-Type %q", accept, ct)
		}
	}
}

func TestGetNeverChangesState(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	before := snapshot(t)
	for _, target := range []string{
		"/flags?op=activate&pattern=admin_test:",
		"/flags?spec=%2Badmin_test:",
		"/?op=activate&pattern=admin_test:",
	} {
		if w := serve(h, request("GET", target, "")); w.Code != 200 {
			t.Errorf("GET %s: %d", target, w.Code)
		}
		r := request("GET", target, form("op", "activate", "pattern", "admin_test:"))
		serve(h, r)
	}
	sameState(t, before)
}

func post(t *testing.T, h http.Handler, body string) admin.Response {
	t.Helper()
	w := serve(h, request("POST", "/flags", body))
	if w.Code != 200 {
		t.Fatalf("POST %s: status %d: %s", body, w.Code, w.Body)
	}
	var resp admin.Response
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// counts makes a console use the C library's counts, as these tests of
// the count semantics need.
var counts = admin.WithCounts()

func TestPostOp(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet, counts)
	resp := post(t, h, form("op", "activate", "pattern", "admin_test:alpha"))
	want := admin.Response{Matched: 1, Results: []admin.Result{{Op: "activate", Pattern: "admin_test:alpha", Matched: 1}}}
	if !reflect.DeepEqual(resp, want) || !alpha.On() {
		t.Errorf("got %+v, on=%v", resp, alpha.On())
	}
	resp = post(t, h, form("op", "deactivate", "pattern", "admin_test:alpha"))
	if resp.Matched != 1 || alpha.On() {
		t.Errorf("got %+v, on=%v", resp, alpha.On())
	}
	post(t, h, form("op", "unhook", "pattern", "admin_test:"))
	post(t, h, form("op", "activate", "pattern", "admin_test:alpha"))
	if alpha.On() || alpha.State().Unhook != 1 {
		t.Errorf("unhooked flag: %v", alpha.State())
	}
	if resp := post(t, h, form("op", "rehook", "pattern", "admin_test:")); resp.Matched != 2 {
		t.Errorf("rehook: %+v", resp)
	}
}

func TestPostSpec(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet, counts)
	resp := post(t, h, form("spec", `+admin_test:alpha !"admin_other:gamma" +admin_other:`))
	want := admin.Response{Matched: 3, Results: []admin.Result{
		{Op: "activate", Pattern: "admin_test:alpha", Matched: 1},
		{Op: "unhook", Pattern: "admin_other:gamma", Matched: 1},
		{Op: "activate", Pattern: "admin_other:", Matched: 1},
	}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("got %+v\nwant %+v", resp, want)
	}
	if !alpha.On() || gamma.On() {
		t.Errorf("alpha %v gamma %v", alpha.State(), gamma.State())
	}
	post(t, h, form("spec", "-admin_test:alpha ?admin_other:gamma"))
	if alpha.On() || gamma.State().Unhook != 0 {
		t.Errorf("alpha %v gamma %v", alpha.State(), gamma.State())
	}
}

// TestBadRequests checks that every malformed request is refused with a
// message and changes nothing.
func TestBadRequests(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet, admin.WithMaxBodyBytes(1024))
	for _, tc := range []struct {
		name, method, target, ctype, body string
		code                              int
		msg                               string
	}{
		{"unknown op", "POST", "/flags", "", form("op", "enable", "pattern", "admin_test:"), 400, `unknown op "enable"`},
		{"invalid regex", "POST", "/flags", "", form("op", "activate", "pattern", "admin_test:("), 400, "invalid pattern"},
		{"missing op", "POST", "/flags", "", form("pattern", "admin_test:"), 400, "missing field op"},
		{"missing pattern", "POST", "/flags", "", form("op", "activate"), 400, "missing field pattern"},
		{"op and spec", "POST", "/flags", "", form("op", "activate", "pattern", "x", "spec", "+x"), 400, "not several"},
		{"unknown field", "POST", "/flags", "", form("op", "activate", "pattern", "x", "force", "1"), 400, `unknown field "force"`},
		{"repeated field", "POST", "/flags", "", form("op", "activate", "pattern", "x", "pattern", "y"), 400, "given 2 times"},
		{"bad term", "POST", "/flags", "", form("spec", "+admin_test:alpha *admin_test:beta"), 400, `term "*admin_test:beta"`},
		{"bad term regex", "POST", "/flags", "", form("spec", "+admin_test:alpha -admin_test:("), 400, "invalid pattern"},
		{"empty spec", "POST", "/flags", "", form("spec", "  "), 400, "empty spec"},
		{"oversized", "POST", "/flags", "", form("op", "activate", "pattern", "admin_test:"+strings.Repeat("x", 2000)), 413, "larger than 1024 bytes"},
		{"multipart", "POST", "/flags", "multipart/form-data; boundary=x", "--x--", 415, "application/x-www-form-urlencoded"},
		{"malformed form", "POST", "/flags", "", "op=%zz", 400, "malformed form"},
		{"list bad regex", "GET", "/flags?pattern=" + url.QueryEscape("a["), "", "", 400, "invalid pattern"},
		{"PUT", "PUT", "/flags", "", form("op", "activate", "pattern", "admin_test:"), 405, ""},
		{"DELETE", "DELETE", "/", "", "", 405, ""},
		{"POST page", "POST", "/", "", form("op", "activate", "pattern", "admin_test:"), 405, ""},
		{"not found", "GET", "/nope", "", "", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t)
			r := request(tc.method, tc.target, tc.body)
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			w := serve(h, r)
			msg := w.Body.String()
			if tc.method == "POST" && tc.code != 405 {
				var e struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("error body %q is not JSON with a message: %v", w.Body, err)
				}
				msg = e.Error
			}
			if w.Code != tc.code || !strings.Contains(msg, tc.msg) {
				t.Errorf("status %d, message %q; want %d containing %q", w.Code, msg, tc.code, tc.msg)
			}
			if tc.code == 405 && w.Header().Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
			sameState(t, before)
		})
	}
}

func TestAuthorization(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet, counts)
	for _, tc := range []struct {
		name   string
		remote string
		header string
		code   int
	}{
		{"loopback v4", "127.0.0.1:5000", "", 200},
		{"loopback v6", "[::1]:5000", "", 200},
		{"mapped loopback", "[::ffff:127.0.0.1]:5000", "", 200},
		{"remote", "192.0.2.7:5000", "", 403},
		{"no address", "@", "", 403},
		{"forwarded", "127.0.0.1:5000", "Forwarded", 403},
		{"x-forwarded-for", "127.0.0.1:5000", "X-Forwarded-For", 403},
		{"x-real-ip", "127.0.0.1:5000", "X-Real-Ip", 403},
		{"via", "127.0.0.1:5000", "Via", 403},
		{"true-client-ip", "127.0.0.1:5000", "True-Client-Ip", 403},
		{"cf-connecting-ip", "127.0.0.1:5000", "Cf-Connecting-Ip", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t)
			for _, r := range []*http.Request{
				request("GET", "/flags", ""),
				request("GET", "/", ""),
				request("POST", "/flags", form("op", "unhook", "pattern", "admin_test:")),
			} {
				r.RemoteAddr = tc.remote
				if tc.header != "" {
					r.Header.Set(tc.header, "for=192.0.2.7")
				}
				w := serve(h, r)
				if w.Code != tc.code {
					t.Errorf("%s %s: status %d, want %d: %s", r.Method, r.URL, w.Code, tc.code, w.Body)
				}
			}
			if tc.code == 200 {
				dflag.Rehook("admin_test:")
			}
			sameState(t, before)
		})
	}
}

func TestBearerToken(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet, counts, admin.WithBearerToken("s3cret"))
	before := snapshot(t)
	for _, auth := range []string{"", "Bearer wrong", "Basic czNjcmV0", "Bearer s3cre", "Bearer"} {
		r := request("POST", "/flags", form("op", "activate", "pattern", "admin_test:"))
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := serve(h, r)
		if w.Code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: status %d %q", auth, w.Code, w.Header())
		}
	}
	sameState(t, before)

	// The right token is accepted from any address, with forwarding headers.
	r := request("POST", "/flags", form("op", "activate", "pattern", "admin_test:alpha"))
	r.RemoteAddr = "192.0.2.7:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	r.Header.Set("Authorization", "bearer s3cret")
	if w := serve(h, r); w.Code != 200 || !alpha.On() {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
	dflag.Deactivate("admin_test:alpha")

	// The page holds no data; it is served without the token.
	r = request("GET", "/", "")
	r.RemoteAddr = "192.0.2.7:5000"
	if w := serve(h, r); w.Code != 200 {
		t.Errorf("page: %d", w.Code)
	}
	r = request("GET", "/flags", "")
	r.RemoteAddr = "192.0.2.7:5000"
	if w := serve(h, r); w.Code != 401 {
		t.Errorf("listing without token: %d", w.Code)
	}
}

func TestEmptyTokenPanics(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	admin.Handler(admin.WithBearerToken(""))
}

func TestCrossOrigin(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	before := snapshot(t)
	r := request("POST", "/flags", form("op", "activate", "pattern", "admin_test:"))
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if w := serve(h, r); w.Code != 403 {
		t.Errorf("Sec-Fetch-Site cross-site: %d", w.Code)
	}
	r = request("POST", "/flags", form("op", "activate", "pattern", "admin_test:"))
	r.Header.Set("Origin", "https://evil.example")
	if w := serve(h, r); w.Code != 403 {
		t.Errorf("foreign Origin: %d", w.Code)
	}
	sameState(t, before)

	// A cross-site listing is refused too; the page itself may be linked.
	for _, site := range []string{"cross-site", "same-site"} {
		r = request("GET", "/flags", "")
		r.Header.Set("Sec-Fetch-Site", site)
		if w := serve(h, r); w.Code != 403 || !strings.Contains(w.Body.String(), "cross-site") {
			t.Errorf("%s GET listing: %d %s", site, w.Code, w.Body)
		}
	}
	r = request("GET", "/", "")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if w := serve(h, r); w.Code != 200 {
		t.Errorf("cross-site navigation to the page: %d", w.Code)
	}
	// Same-origin requests pass.
	r = request("POST", "/flags", form("op", "rehook", "pattern", "admin_test:"))
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if w := serve(h, r); w.Code != 200 {
		t.Errorf("same-origin POST: %d", w.Code)
	}

	// A trusted origin passes.
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin("https://ops.example"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []http.Handler{
		admin.Handler(quiet, admin.WithCrossOriginProtection(cop)),
		admin.Handler(quiet, admin.WithTrustedOrigin("https://ops.example")),
	} {
		for _, method := range []string{"POST", "GET"} {
			r = request(method, "/flags", form("op", "rehook", "pattern", "admin_test:"))
			r.Header.Set("Origin", "https://ops.example")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			if w := serve(h, r); w.Code != 200 {
				t.Errorf("trusted origin %s: %d", method, w.Code)
			}
			r.Header.Set("Origin", "https://evil.example")
			if w := serve(h, r); w.Code != 403 {
				t.Errorf("untrusted origin %s: %d", method, w.Code)
			}
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	// One token per thousand seconds: the third change in a row is refused
	// however slowly the test runs.
	h := admin.Handler(quiet, admin.WithRateLimit(0.001, 2))
	post(t, h, form("op", "activate", "pattern", "admin_test:alpha"))
	post(t, h, form("op", "deactivate", "pattern", "admin_test:alpha"))
	before := snapshot(t)
	w := serve(h, request("POST", "/flags", form("op", "activate", "pattern", "admin_test:alpha")))
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
	sameState(t, before)
	// Listing has a limit of its own.
	if w := serve(h, request("GET", "/flags", "")); w.Code != 200 {
		t.Errorf("GET: %d", w.Code)
	}
	// Bad requests are refused before they take a token.
	h = admin.Handler(quiet, admin.WithRateLimit(0.001, 1))
	for range 3 {
		if w := serve(h, request("POST", "/flags", form("op", "nope", "pattern", "x"))); w.Code != 400 {
			t.Errorf("bad op: %d", w.Code)
		}
	}
	post(t, h, form("op", "rehook", "pattern", "admin_test:alpha"))
	// A zero rate disables the limit.
	h = admin.Handler(quiet, admin.WithRateLimit(0, 0))
	for range 20 {
		post(t, h, form("op", "rehook", "pattern", "admin_test:alpha"))
	}
}

func TestChangeIsLogged(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	var buf bytes.Buffer
	h := admin.Handler(counts, admin.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	post(t, h, form("spec", "+admin_test:alpha -admin_test:alpha"))
	serve(h, request("POST", "/flags", form("op", "activate", "pattern", "(")))
	var recs []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "time")
		recs = append(recs, m)
	}
	want := []map[string]any{
		{"level": "INFO", "msg": "dflag admin: change", "remote": "127.0.0.1:40000", "terms": 2.0, "matched": 2.0,
			"applied": "+admin_test:alpha=1 -admin_test:alpha=1", "unmatched": 0.0},
		{"level": "WARN", "msg": "dflag admin: request refused", "remote": "127.0.0.1:40000", "method": "POST", "path": "/flags", "status": 400.0,
			"reason": "dflag: invalid pattern \"(\": error parsing regexp: missing closing ): `(`"},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("log:\n%v\nwant:\n%v", recs, want)
	}
}

func TestPrefix(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	mux := http.NewServeMux()
	mux.Handle("/debug/dflag/", admin.Handler(quiet, admin.WithPrefix("/debug/dflag/")))
	mux.Handle("/other/", http.StripPrefix("/other", admin.Handler(quiet)))
	for _, target := range []string{"/debug/dflag/", "/debug/dflag/flags", "/other/", "/other/flags"} {
		if w := serve(mux, request("GET", target, "")); w.Code != 200 {
			t.Errorf("GET %s: %d", target, w.Code)
		}
	}
}

func TestPage(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	w := serve(admin.Handler(quiet), request("GET", "/", ""))
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	for _, s := range []string{"<script>", `id="filter"`, "activate", "rehook"} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	// No external assets.
	for _, s := range []string{"src=", "href=", "@import", "url("} {
		if strings.Contains(body, s) {
			t.Errorf("page refers to an external asset: %q", s)
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

func TestExpvar(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	var got []admin.Flag
	if err := json.Unmarshal([]byte(admin.Expvar().String()), &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		if f.Name == alpha.Name() {
			return
		}
	}
	t.Errorf("%s not in %v", alpha.Name(), got)
}
