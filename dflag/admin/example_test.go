package admin_test

import (
	"encoding/json"
	"expvar"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"bounded.dev/dflag"
	"bounded.dev/dflag/admin"
)

var exampleVerbose = dflag.Feature("admin_example", "verbose", "log every step")

// Mount the console next to net/http/pprof, then switch a flag and list it
// as an operator would with curl. The change is kept in the operator's
// hold, console:127.0.0.1, which the listing shows as the flag's owner and
// op=release gives back.
func Example() {
	mux := http.NewServeMux()
	mux.Handle("/debug/dflag/", admin.Handler(
		admin.WithPrefix("/debug/dflag/"),
		admin.WithLogger(slog.New(slog.DiscardHandler)), // the default logs to slog.Default()
	))
	srv := httptest.NewServer(mux) // listens on loopback: authorised by default
	defer srv.Close()

	// curl -d op=activate -d pattern=admin_example:verbose localhost:8080/debug/dflag/flags
	resp, err := http.PostForm(srv.URL+"/debug/dflag/flags",
		url.Values{"op": {"activate"}, "pattern": {"admin_example:verbose"}})
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Status, " ", string(body))

	// curl -H 'Accept: application/json' localhost:8080/debug/dflag/flags?pattern=admin_example:
	req, _ := http.NewRequest("GET", srv.URL+"/debug/dflag/flags?pattern=admin_example:", nil)
	req.Header.Set("Accept", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var list []admin.Flag
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	fmt.Println(list[0].Name, list[0].On, list[0].Owners)

	// A spec of startup terms is validated whole: nothing applies here.
	resp, err = http.PostForm(srv.URL+"/debug/dflag/flags", url.Values{"spec": {"-admin_example: +("}})
	if err != nil {
		panic(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Status, " ", string(body))
	fmt.Println(exampleVerbose.On())

	// curl -d op=release localhost:8080/debug/dflag/flags
	resp, err = http.PostForm(srv.URL+"/debug/dflag/flags", url.Values{"op": {"release"}})
	if err != nil {
		panic(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Status, " ", string(body))
	fmt.Println(exampleVerbose.On())
	// Output:
	// 200 OK {"owner":"console:127.0.0.1","held":["+admin_example:verbose"],"matched":1,"results":[{"op":"activate","pattern":"admin_example:verbose","matched":1}]}
	// admin_example:verbose@bounded.dev/dflag/admin/example_test.go:18 true [{console:127.0.0.1 [+admin_example:verbose] false}]
	// 400 Bad Request {"error":"dflag: term \"+(\": invalid pattern \"(\": error parsing regexp: missing closing ): `(`"}
	// true
	// 200 OK {"owner":"console:127.0.0.1","matched":1,"results":[{"op":"release","pattern":"","matched":1}]}
	// false
}

// With a bearer token, the console serves any address that presents it,
// and nobody else.
func ExampleWithBearerToken() {
	h := admin.Handler(admin.WithBearerToken("s3cret"), admin.WithLogger(slog.New(slog.DiscardHandler)))
	for _, auth := range []string{"", "Bearer s3cret"} {
		r := httptest.NewRequest("POST", "/flags", strings.NewReader("op=unhook&pattern=admin_example:"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	r := httptest.NewRequest("POST", "/flags", strings.NewReader("op=release"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Bearer s3cret")
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// 401 {"error":"missing bearer token"}
	// 200 {"owner":"console:bearer","held":["!admin_example:"],"matched":1,"results":[{"op":"unhook","pattern":"admin_example:","matched":1}]}
}

// WithCounts keeps the C library's counts instead of an operator's hold.
func ExampleWithCounts() {
	h := admin.Handler(admin.WithCounts(), admin.WithLogger(slog.New(slog.DiscardHandler)))
	for _, op := range []string{"activate", "deactivate"} {
		r := httptest.NewRequest("POST", "http://127.0.0.1:8080/flags", strings.NewReader("op="+op+"&pattern=admin_example:"))
		r.RemoteAddr = "127.0.0.1:51000"
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Body.String())
		fmt.Println(exampleVerbose.State().Activation)
	}
	// Output:
	// {"matched":1,"results":[{"op":"activate","pattern":"admin_example:","matched":1}]}
	// 1
	// {"matched":1,"results":[{"op":"deactivate","pattern":"admin_example:","matched":1}]}
	// 0
}

// The flag table can also be published in /debug/vars.
func ExamplePublishExpvar() {
	admin.PublishExpvar("dflag")
	v := expvar.Get("dflag").String()
	fmt.Println(strings.Contains(v, `"name":"admin_example:verbose@bounded.dev/dflag/admin/example_test.go:18"`))
	// Output:
	// true
}

// localPost sends a form to h as a local client and prints the answer.
func localPost(h http.Handler, body string) {
	r := httptest.NewRequest("POST", "http://127.0.0.1:8080/flags", strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:51000"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
}

// An operation that matches no flag is applied, as in the C library, and
// reported in "warnings"; name= switches exactly one record.
func Example_warningsAndExactRecord() {
	h := admin.Handler(admin.WithCounts(), admin.WithLogger(slog.New(slog.DiscardHandler)))
	localPost(h, url.Values{"spec": {"-admin_exampel: +admin_example:verbose"}}.Encode())
	localPost(h, url.Values{"op": {"deactivate"}, "name": {exampleVerbose.Name()}}.Encode())
	localPost(h, url.Values{"op": {"deactivate"}, "name": {"admin_example:verbose"}}.Encode())
	// Output:
	// 200 {"matched":1,"results":[{"op":"deactivate","pattern":"admin_exampel:","matched":0},{"op":"activate","pattern":"admin_example:verbose","matched":1}],"warnings":["deactivate \"admin_exampel:\" matched no flag"]}
	// 200 {"matched":1,"results":[{"op":"deactivate","pattern":"admin_example:verbose@bounded.dev/dflag/admin/example_test.go:18","matched":1}]}
	// 404 {"error":"no flag record named \"admin_example:verbose\" (give kind:name@file:line exactly as listed)"}
}

// A dry run says how many flags each operation would match, and GET
// /history lists what was applied, newest first.
func Example_dryRunAndHistory() {
	h := admin.Handler(admin.WithLogger(slog.New(slog.DiscardHandler)))
	localPost(h, "op=deactivate&pattern=admin_example:&dry_run=1")
	localPost(h, "op=deactivate&pattern=admin_example:")
	localPost(h, "op=activate&pattern=admin_example:") // undoes the operator's own deactivate

	r := httptest.NewRequest("GET", "http://127.0.0.1:8080/history", nil)
	r.RemoteAddr = "127.0.0.1:51000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var hist struct{ Changes []admin.Change }
	json.Unmarshal(w.Body.Bytes(), &hist)
	for _, c := range hist.Changes {
		fmt.Println(c.Who, c.Results)
	}
	// Output:
	// 200 {"dry_run":true,"matched":1,"results":[{"op":"deactivate","pattern":"admin_example:","matched":1}]}
	// 200 {"owner":"console:127.0.0.1","held":["-admin_example:"],"matched":1,"results":[{"op":"deactivate","pattern":"admin_example:","matched":1}]}
	// 200 {"owner":"console:127.0.0.1","matched":1,"results":[{"op":"activate","pattern":"admin_example:","matched":1}]}
	// console:127.0.0.1 (127.0.0.1:51000) [{activate admin_example: 1}]
	// console:127.0.0.1 (127.0.0.1:51000) [{deactivate admin_example: 1}]
}

// Behind a proxy, give every surface the same token; WithLocal keeps
// local clients admitted too, and WithLocalHosts names this machine.
func ExampleWithLocal() {
	h := admin.Handler(
		admin.WithBearerToken("s3cret"), admin.WithLocal(), admin.WithLocalHosts("devbox"),
		admin.WithLogger(slog.New(slog.DiscardHandler)))
	for _, c := range []struct{ remote, host, auth string }{
		{"127.0.0.1:51000", "devbox:8080", ""},        // local, by a configured name
		{"127.0.0.1:51000", "attacker.test:8080", ""}, // DNS rebinding
		{"203.0.113.9:51000", "ops.example.com", "Bearer s3cret"},
	} {
		r := httptest.NewRequest("GET", "/flags?pattern=admin_example:", nil)
		r.RemoteAddr, r.Host = c.remote, c.host
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(c.host, w.Code)
	}
	// Output:
	// devbox:8080 200
	// attacker.test:8080 401
	// ops.example.com 200
}
