package lint

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
)

// TestOnInliningMatchesCompiler holds the analyzer to the compiler: in the
// module testdata/compiler (which uses the real bounded.dev/dflag), every
// line that calls On is either inlined by the compiler (go build
// -gcflags=-m=2 says "inlining call to dflag.(*Flag).On") or reported by
// the analyzer, never both and never neither. A Go release that changes
// when bodies are re-exported fails here.
func TestOnInliningMatchesCompiler(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module with the go command")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		t.Skipf("no go command: %v", err)
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "compiler"))
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOWORK=off")

	build := exec.Command(gobin, "build", "-gcflags=-m=2", "./...")
	build.Dir, build.Env = dir, env
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	inlined := map[string]bool{}
	re := regexp.MustCompile(`^(\S+\.go):(\d+):\d+: inlining call to dflag\.\(\*Flag\)\.On$`)
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			inlined[filepath.ToSlash(m[1])+":"+m[2]] = true
		}
	}

	pkgs, err := packages.Load(&packages.Config{Mode: packages.LoadAllSyntax, Dir: dir, Env: env}, "./...")
	if err != nil {
		t.Fatal(err)
	}
	if packages.PrintErrors(pkgs) > 0 {
		t.Fatal("the module does not load")
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{Analyzer}, pkgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	reported := map[string]bool{}
	for act := range graph.All() {
		if act.Analyzer != Analyzer || !act.IsRoot {
			continue
		}
		if act.Err != nil {
			t.Fatalf("%s: %v", act, act.Err)
		}
		for _, d := range act.Diagnostics {
			if !strings.Contains(d.Message, "is not inlined here") {
				continue
			}
			pos := act.Package.Fset.Position(d.Pos)
			rel, _ := filepath.Rel(dir, pos.Filename)
			reported[filepath.ToSlash(rel)+":"+strconv.Itoa(pos.Line)] = true
		}
	}

	var calls []string
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.go"))
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, f)
		for i, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, ".On()") && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				calls = append(calls, filepath.ToSlash(rel)+":"+strconv.Itoa(i+1))
			}
		}
	}
	for _, c := range calls {
		switch {
		case inlined[c] && reported[c]:
			t.Errorf("%s: the compiler inlines On, yet the analyzer reports it", c)
		case !inlined[c] && !reported[c]:
			t.Errorf("%s: the compiler does not inline On, and the analyzer is silent", c)
		}
	}
	if len(inlined) == 0 || len(reported) == 0 {
		t.Errorf("inlined %v, reported %v: the module must exercise both outcomes", inlined, reported)
	}
	t.Logf("%d lines call On: %d inlined, %d reported", len(calls), len(inlined), len(reported))
}
