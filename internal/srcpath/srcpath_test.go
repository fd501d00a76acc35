package srcpath

import (
	"runtime"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	main := mainPath()
	join := func(pkg, base string) string {
		if pkg == "" {
			return base
		}
		return pkg + "/" + base
	}
	for _, c := range []struct{ function, file, want string }{
		{"bounded.dev/dflag.init", "/home/u/src/dflag/flag.go", "bounded.dev/dflag/flag.go"},
		{"bounded.dev/dflag_test.TestX.func1", "/tmp/x/dflag/a_test.go", "bounded.dev/dflag/a_test.go"},
		{"gopkg.in/yaml%2ev3.(*T).M", "/go/pkg/mod/gopkg.in/yaml.v3@v3.0.1/decode.go", "gopkg.in/yaml.v3/decode.go"},
		{"net/http.(*Server).Serve", "/usr/local/go/src/net/http/server.go", "net/http/server.go"},
		{"example.com/m/p.F[...]", "/src/p/f.go", "example.com/m/p/f.go"},
		{"fmt.Println", "/usr/local/go/src/fmt/print.go", "fmt/print.go"},
		{"any.F", "bounded.dev/dflag/flag.go", "bounded.dev/dflag/flag.go"}, // -trimpath
		{"nopackage", "/abs/x.go", "x.go"},
		{"main.main", "/abs/cmd/x/main.go", join(main, "main.go")},
	} {
		if got := Of(c.function, c.file); got != c.want {
			t.Errorf("Of(%q, %q) = %q, want %q", c.function, c.file, got, c.want)
		}
	}
}

func TestFrame(t *testing.T) {
	pc, _, line, _ := runtime.Caller(0)
	file, got := Frame(pc + 1)
	if file != "bounded.dev/internal/srcpath/srcpath_test.go" || got != line {
		t.Errorf("Frame = %s:%d, want bounded.dev/internal/srcpath/srcpath_test.go:%d", file, got, line)
	}
	if file, line := Frame(0); file != "?" || line != 0 {
		t.Errorf("Frame(0) = %s:%d, want ?:0", file, line)
	}
	if strings.HasPrefix(file, "/") {
		t.Errorf("absolute path %s", file)
	}
}
