package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// The ways of installing and running dflaglint that the package comment
// and docs/operations.md give, each run for real against a module with one
// mistake in it.

// app is a module with a flag declared in a function: dflaglint must say so.
const appMain = `package main

import "bounded.dev/dflag"

func main() {
	f := dflag.Opt("app", "in_func")
	println(f.On())
}
`

const finding = "dflag.Opt called in function main"

func goCommand(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds dflaglint with the go command")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		t.Skipf("no go command: %v", err)
	}
	return gobin
}

// repoRoot is the directory of the bounded.dev module.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// requires returns the require lines of the root go.mod, so that the app
// module's build list holds what bounded.dev needs without a network.
func requires(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range regexp.MustCompile(`(?m)^\t(\S+ v\S+)`).FindAllStringSubmatch(string(b), -1) {
		lines = append(lines, "\t"+m[1])
	}
	return strings.Join(lines, "\n")
}

// writeApp writes the app module, with extra lines at the end of its go.mod.
func writeApp(t *testing.T, root, extra string) string {
	t.Helper()
	dir := t.TempDir()
	mod := "module example.com/app\n\ngo 1.26.0\n\nrequire (\n\tbounded.dev v0.0.0-00010101000000-000000000000\n" +
		requires(t, root) + "\n)\n\nreplace bounded.dev => " + root + "\n" + extra
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(mod), "go.sum": sum, "main.go": []byte(appMain)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestInstallFromClone is "go install ./cmd/dflaglint" in a clone, then
// the installed command standalone and as a vet tool.
func TestInstallFromClone(t *testing.T) {
	gobin := goCommand(t)
	root := repoRoot(t)
	bin := t.TempDir()
	if out, err := run(t, root, []string{"GOBIN=" + bin}, gobin, "install", "./cmd/dflaglint"); err != nil {
		t.Fatalf("go install ./cmd/dflaglint: %v\n%s", err, out)
	}
	exe := filepath.Join(bin, "dflaglint")
	app := writeApp(t, root, "")
	env := []string{"GOWORK=off", "GOFLAGS=-mod=mod"}
	out, err := run(t, app, env, exe, "./...")
	if err == nil || !strings.Contains(out, finding) {
		t.Errorf("dflaglint ./...: err %v, output:\n%s", err, out)
	}
	out, err = run(t, app, env, gobin, "vet", "-vettool="+exe, "./...")
	if err == nil || !strings.Contains(out, finding) {
		t.Errorf("go vet -vettool: err %v, output:\n%s", err, out)
	}
}

// TestGoTool is the tool directive in a module that requires bounded.dev:
// go tool dflaglint ./... .
func TestGoTool(t *testing.T) {
	gobin := goCommand(t)
	root := repoRoot(t)
	app := writeApp(t, root, "\ntool bounded.dev/cmd/dflaglint\n")
	out, err := run(t, app, []string{"GOWORK=off", "GOFLAGS=-mod=mod"}, gobin, "tool", "dflaglint", "./...")
	if err == nil || !strings.Contains(out, finding) {
		t.Errorf("go tool dflaglint ./...: err %v, output:\n%s", err, out)
	}
}
