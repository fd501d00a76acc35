package admin_test

import (
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
// as an operator would with curl.
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

	// curl localhost:8080/debug/dflag/flags?pattern=admin_example:
	resp, err = http.Get(srv.URL + "/debug/dflag/flags?pattern=admin_example:")
	if err != nil {
		panic(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))

	// A spec of startup terms is validated whole: nothing applies here.
	resp, err = http.PostForm(srv.URL+"/debug/dflag/flags", url.Values{"spec": {"-admin_example: +("}})
	if err != nil {
		panic(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Status, " ", string(body))
	fmt.Println(exampleVerbose.On())
	dflag.Deactivate("admin_example:")
	// Output:
	// 200 OK {"matched":1,"results":[{"op":"activate","pattern":"admin_example:verbose","matched":1}]}
	// admin_example:verbose@bounded.dev/dflag/admin/example_test.go:17 (1): log every step
	// 400 Bad Request {"error":"dflag: term \"+(\": invalid pattern \"(\": error parsing regexp: missing closing ): `(`"}
	// true
}

// With a bearer token, the console serves any address that presents it,
// and nobody else.
func ExampleWithBearerToken() {
	h := admin.Handler(admin.WithBearerToken("s3cret"), admin.WithLogger(slog.New(slog.DiscardHandler)))
	for _, auth := range []string{"", "Bearer s3cret"} {
		r := httptest.NewRequest("POST", "/flags", strings.NewReader("op=rehook&pattern=admin_example:"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// 401 {"error":"missing bearer token"}
	// 200 {"matched":1,"results":[{"op":"rehook","pattern":"admin_example:","matched":1}]}
}

// The flag table can also be published in /debug/vars.
func ExamplePublishExpvar() {
	admin.PublishExpvar("dflag")
	v := expvar.Get("dflag").String()
	fmt.Println(strings.Contains(v, `"name":"admin_example:verbose@bounded.dev/dflag/admin/example_test.go:17"`))
	// Output:
	// true
}
