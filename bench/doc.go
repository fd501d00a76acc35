// Package bench holds benchmarks that compare this module's mechanisms with
// what a Go program would otherwise use: atomic.Bool and OpenFeature for flag
// checks, plain calls for patched call sites, otelhttp for request tracing
// and sync.RWMutex for read paths. Run them side by side in one run:
//
//	go test -run '^$' -bench . -count 6 ./bench | tee new.txt
//	benchstat new.txt
package bench
