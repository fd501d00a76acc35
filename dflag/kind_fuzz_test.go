package dflag_test

import (
	"regexp"
	"testing"

	"bounded.dev/dflag"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FuzzCheckKind: CheckKind accepts exactly the identifiers, and a refused
// kind is refused by HoldKind and the kind operations too, changing
// nothing.
func FuzzCheckKind(f *testing.F) {
	for _, s := range []string{"", "request_tracing", "stm", "9x", "a-b", "a b", "stn ", "_", "é", "a\x00", "kind:x", "A9_z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, kind string) {
		err := dflag.CheckKind(kind)
		if want := identRE.MatchString(kind); (err == nil) != want {
			t.Fatalf("CheckKind(%q) = %v; identifier %v", kind, err, want)
		}
		if err == nil {
			return
		}
		if release, herr := dflag.HoldKind(kind); release != nil || herr == nil {
			t.Fatalf("HoldKind(%q) accepted a kind CheckKind refuses", kind)
		}
		if n, aerr := dflag.ActivateKind(kind, ""); n != 0 || aerr == nil {
			t.Fatalf("ActivateKind(%q, \"\") = %d, %v", kind, n, aerr)
		}
	})
}
