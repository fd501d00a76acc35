//go:build unix

package dflag_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"bounded.dev/dflag"
)

// TestConcurrentInit pins issue 10 item 9 in a child process (Init runs
// once per process): while the first Init is still reading its terms (from
// a FIFO that the test writes only later), concurrent Init calls do not
// return; once it finishes, they all return its result, with the terms
// applied.
func TestConcurrentInit(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"+ctor:feature\n", "none returned early; all 16 saw feature=true err=<nil>"},
		{"+ctor:feature\n+(\n", `none returned early; all 16 saw feature=false err=dflag: DFLAG_FILE`},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentInitChild$", "-test.v")
		cmd.Env = append(os.Environ(), "DFLAG_TEST_CHILD=concurrent", "DFLAG_TEST_FILE="+c.file, "DFLAG=", "DFLAG_FILE=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "child: "+c.want) {
			t.Errorf("file %q: child output does not contain %q:\n%s", c.file, c.want, out)
		}
	}
}

func TestConcurrentInitChild(t *testing.T) {
	if os.Getenv("DFLAG_TEST_CHILD") != "concurrent" {
		t.Skip("run by TestConcurrentInit")
	}
	fifo := filepath.Join(t.TempDir(), "terms")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	os.Setenv("DFLAG_FILE", fifo)
	const n = 16
	results := make([]string, n)
	var returned atomic.Int64
	var wg sync.WaitGroup
	run := func(i int) {
		err := dflag.Init()
		returned.Add(1)
		results[i] = "feature=" + strconvBool(ctorFeature.On()) + " err=" + errString(err)
	}
	wg.Go(func() { run(0) }) // blocks reading the FIFO
	for !dflag.Initialized() {
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < n; i++ {
		wg.Go(func() { run(i) })
	}
	time.Sleep(100 * time.Millisecond) // time enough for a wrong Init to return
	early := returned.Load()
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString(os.Getenv("DFLAG_TEST_FILE"))
	w.Close()
	wg.Wait()
	if early != 0 {
		t.Fatalf("child: %d Init calls returned while the first was reading its terms: %q", early, results)
	}
	for _, r := range results[1:] {
		if r != results[0] {
			t.Fatalf("child: results differ: %q", results)
		}
	}
	t.Logf("child: none returned early; all %d saw %s", n, results[0])
}
