package dflag

import "testing"

func TestStableFile(t *testing.T) {
	mainPath := mainPath()
	for _, c := range []struct{ function, file, want string }{
		{"bounded.dev/dflag.init", "/home/u/src/dflag/flag.go", "bounded.dev/dflag/flag.go"},
		{"bounded.dev/dflag_test.TestX.func1", "/tmp/x/dflag/a_test.go", "bounded.dev/dflag/a_test.go"},
		{"gopkg.in/yaml%2ev3.(*T).M", "/go/pkg/mod/gopkg.in/yaml.v3@v3.0.1/decode.go", "gopkg.in/yaml.v3/decode.go"},
		{"net/http.(*Server).Serve", "/usr/local/go/src/net/http/server.go", "net/http/server.go"},
		{"example.com/m/p.F[...]", "/src/p/f.go", "example.com/m/p/f.go"},
		{"fmt.Println", "/usr/local/go/src/fmt/print.go", "fmt/print.go"},
		{"any.F", "bounded.dev/dflag/flag.go", "bounded.dev/dflag/flag.go"}, // -trimpath
		{"main.main", "/abs/cmd/x/main.go", joinMain(mainPath, "main.go")},
	} {
		if got := stableFile(c.function, c.file); got != c.want {
			t.Errorf("stableFile(%q, %q) = %q, want %q", c.function, c.file, got, c.want)
		}
	}
}

func joinMain(pkg, base string) string {
	if pkg == "" {
		return base
	}
	return pkg + "/" + base
}
