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
	want := `feature:one@c/c.go:14 feature: a feature
breaker:two@c/c.go:15 default
request_tracing:db_query@c/c.go:17 opt: trace SQL statements
remote_kind:remote@c/c.go:18 default
wrapped:five@c/c.go:19 feature
declared:six@c/c.go:20 default
b_kind:seven@c/c.go:21 opt
breaker:free@c/c.go:32 opt-calls c.free: nop free
request_tracing:calls@c/c.go:33 default-calls b.Noinline
direct:eight@c/c.go:39 opt
stm:nine@c/c.go:40 opt
stm:ten@c/c.go:41 default
steady_state:eleven@c/c.go:47 opt
steady_state:twelve@c/c.go:48 feature
steady_state:thirteen@c/c.go:53 opt
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "@bounded.dev/") {
		t.Errorf("wrappers inside the API packages were listed")
	}
}
