// Command startup is built by BenchmarkStartup: it registers the first n
// of its 400 call-site targets (n is its argument) with dflag.OptCalls, as
// package-level declarations do, then calls dflag.Init, which switches them
// all off in one batch; it checks that the calls are off and prints n, the
// wall-clock and CPU nanoseconds from the first registration to the end of
// Init (the engine's one-time start-up, its self-test and its index of
// calls, included) and the index's bytes.
// It links net/http, encoding/xml, archive/zip, image codecs and log/slog
// so that its text is about 3 MB, the size of an 11 MB service binary.
package main

//go:generate go run gen.go

import (
	"archive/zip"
	"encoding/xml"
	"fmt"
	"image/jpeg"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"os"
	"strconv"
	"syscall"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/internal/patch"
)

// keep links the code a real service would carry.
var keep = []any{
	http.ListenAndServe, http.Get, httputil.DumpRequest,
	xml.Marshal, xml.Unmarshal, zip.NewReader,
	png.Decode, png.Encode, jpeg.Decode, jpeg.Encode, slog.New,
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: startup N")
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 1 || n > len(targets) {
		fail("N must be 1 to %d", len(targets))
	}
	if len(os.Args) > 5 {
		fmt.Println(keep...)
	}
	cpu0 := cpuTime()
	start := time.Now()
	for i, fn := range targets[:n] {
		if k, err := dflag.OptCalls("startup", "f"+strconv.Itoa(i), fn); k != 1 || err != nil {
			fail("OptCalls(target%d) = %d, %v", i, k, err)
		}
	}
	if err := dflag.Init(); err != nil {
		fail("Init: %v", err)
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	for _, s := range sites[:n] {
		s()
	}
	if hits != 0 {
		fail("%d of %d calls ran after Init", hits, n)
	}
	fmt.Println(n, took.Nanoseconds(), cpu.Nanoseconds(), patch.ReadStats().IndexBytes)
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "startup: "+format+"\n", args...)
	os.Exit(1)
}
