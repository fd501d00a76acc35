package lint

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"
)

func TestList(t *testing.T) {
	var buf bytes.Buffer
	listing.Lock()
	listing.w, listing.seen = &buf, map[string]bool{}
	listing.Unlock()
	listMode = true
	defer func() {
		listMode = false
		listing.Lock()
		listing.w = nil
		listing.Unlock()
	}()
	analysistest.Run(t, analysistest.TestData(), Analyzer, "c")
	got := buf.String()
	want := `feature:one@c/c.go:13 feature: a feature
breaker:two@c/c.go:14 default
request_tracing:db_query@c/c.go:16 opt: trace SQL statements
remote_kind:remote@c/c.go:17 default
wrapped:five@c/c.go:18 feature
declared:six@c/c.go:19 default
b_kind:seven@c/c.go:20 opt
breaker:free@c/c.go:31 opt-calls c.free: nop free
request_tracing:calls@c/c.go:32 default-calls b.Noinline
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "@bounded.dev/") {
		t.Errorf("wrappers inside the API packages were listed")
	}
}
