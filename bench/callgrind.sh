#!/bin/sh
# callgrind.sh: instructions per iteration of this package's loop
# benchmarks, counted by valgrind's callgrind, which is repeatable on a
# loaded machine where wall time is not (the method of examples/stm).
#
#	bench/callgrind.sh [BENCH/SUB ...]
#
# With no arguments it counts BenchmarkCheck/{NoCheck,AtomicBool,Hook},
# BenchmarkOn/{inlined,call} and BenchmarkCallSite/*. Each sub-benchmark
# runs twice, for N1 and N2 iterations (-test.benchtime=Nx); instructions
# per iteration is the difference of the two totals over N2-N1, so start-up
# and set-up cancel. Asynchronous preemption is off (callgrind asserts on
# its signals), and --smc-check=all makes valgrind see the patched call
# sites.
set -eu
cd "$(dirname "$0")"
n1=${N1:-1000000} n2=${N2:-3000000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/bench.test" .
if [ $# -eq 0 ]; then
	set -- Check/NoCheck Check/AtomicBool Check/Hook On/inlined On/call \
		CallSite/Plain CallSite/DefaultOn CallSite/OptOff CallSite/HookOff CallSite/NoCall
fi
ir() {
	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --smc-check=all \
		--callgrind-out-file="$dir/cg.out" "$dir/bench.test" -test.run='^$' \
		-test.bench="^Benchmark$1\$/^$2\$" -test.benchtime="$3x" -test.cpu=1 \
		2>&1 >/dev/null | sed -n 's/.*Collected : //p'
}
for b in "$@"; do
	bench=${b%%/*} sub=${b#*/}
	a=$(ir "$bench" "$sub" "$n1") z=$(ir "$bench" "$sub" "$n2")
	echo "Benchmark$bench/$sub $(echo "scale=2; ($z - $a) / ($n2 - $n1)" | bc) instructions/op"
done
