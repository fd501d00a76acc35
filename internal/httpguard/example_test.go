package httpguard_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"bounded.dev/internal/httpguard"
)

// A surface guards itself with a Policy: here the default local rule,
// applied to a local client, a DNS-rebinding page, a request through a
// proxy and a cross-site <img>.
func ExamplePolicy() {
	var p httpguard.Policy // no rule: the local rule
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := p.Check(r); err != nil {
			ref := err.(*httpguard.Refusal)
			ref.Challenge(w, "example")
			http.Error(w, ref.Reason, ref.Status)
			return
		}
		fmt.Fprint(w, "ok")
	})
	for _, c := range []struct{ host, header, value string }{
		{"127.0.0.1:8080", "", ""},
		{"attacker.test:8080", "", ""},
		{"127.0.0.1:8080", "Via", "1.1 edge"},
		{"127.0.0.1:8080", "Sec-Fetch-Site", "cross-site"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr, r.Host = "127.0.0.1:51000", c.host
		if c.header != "" {
			r.Header.Set(c.header, c.value)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
		if w.Code == 200 {
			fmt.Println()
		}
	}
	// Output:
	// 200 ok
	// 403 Host "attacker.test:8080" is not a loopback address or localhost (a DNS-rebinding page would send its own name); list the name as a local host or configure a bearer token
	// 403 request came through a proxy (Via header): only direct loopback clients are local; configure a bearer token behind a proxy
	// 403 cross-site request refused (Sec-Fetch-Site: cross-site): the console and debug pages only answer their own pages and clients that are not browsers
}

// Rules add up: a token admits from anywhere, AllowLocal keeps local
// clients, and a refusal says which rule would have admitted.
func ExamplePolicy_AllowBearer() {
	var p httpguard.Policy
	if err := p.AllowBearer("s3cret"); err != nil {
		panic(err)
	}
	p.AllowLocal()
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr, r.Host = "203.0.113.9:51000", "ops.example.com"
	fmt.Println(p.Check(r))
	r.Header.Set("Authorization", "Bearer s3cret")
	fmt.Println(p.Check(r))
	// Output:
	// missing bearer token
	// <nil>
}
