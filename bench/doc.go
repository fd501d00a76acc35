// Package bench holds benchmarks that compare this repository's mechanisms
// with what a Go program would otherwise use: atomic.Bool and OpenFeature
// for flag checks, an out-of-line On for the inlined one, plain calls for
// patched call sites, otelhttp for request tracing. It is its own module,
// bounded.dev/bench, so that OpenFeature and otelhttp stay out of the
// library's build list; the repository's go.work ties it to the library.
// Run the benchmarks side by side in one run, from the repository root:
//
//	go test -run '^$' -bench . -count 6 ./bench | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest new.txt
//
// and count instructions, which a loaded machine does not disturb, with
// bench/callgrind.sh. The records, with the machine and the commit, are in
// docs/benchmarks.md. The package's tests check the repository's Markdown:
// every relative link in README.md and docs/*.md resolves.
package bench
