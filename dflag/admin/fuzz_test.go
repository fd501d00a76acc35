package admin

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"bounded.dev/dflag"
)

// FuzzCountTerms checks the term counter that refuses floods before
// anything compiles against dflag.ParseTerms: for every spec ParseTerms
// accepts, both count the same terms.
func FuzzCountTerms(f *testing.F) {
	for _, s := range []string{"+a -b", `+"a b" -c`, "+`x y` ?z", "  \t+a\n-b  ", `!"a\"b c" +d`, "+", "+a+b", `+"unterminated`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if len(spec) > 512 {
			return
		}
		n := countTerms(spec)
		terms, err := dflag.ParseTerms(spec)
		if err == nil && n != len(terms) {
			t.Fatalf("countTerms(%q) = %d, ParseTerms found %d: %q", spec, n, len(terms), terms)
		}
	})
}

// FuzzPost sends arbitrary POST bodies as dry runs: whatever the body,
// the handler answers with a status it documents, never panics, and
// changes no flag.
func FuzzPost(f *testing.F) {
	for _, s := range []string{"op=activate&pattern=x", "spec=%2Ba+-b", "op=rehook&name=k:n@f.go:1", "spec=", "op=%zz", "name=&op=", "spec=%2B%22a"} {
		f.Add(s)
	}
	h := Handler(WithRateLimit(0, 0), WithListRateLimit(0, 0), WithLogger(nil))
	before, _ := dflag.List("")
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "http://127.0.0.1:8080/flags", strings.NewReader(body+"&dry_run=1"))
		r.RemoteAddr = "127.0.0.1:1"
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("body %q: status %d %s", body, w.Code, w.Body)
		}
		if w.Code == http.StatusOK && !strings.Contains(w.Body.String(), `"dry_run":true`) {
			t.Fatalf("body %q: not a dry run: %s", body, w.Body)
		}
	})
	if after, _ := dflag.List(""); !reflect.DeepEqual(before, after) {
		f.Fatalf("a dry run changed the flags:\n%v\n%v", before, after)
	}
}
