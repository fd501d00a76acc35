#!/bin/sh
# callgrind.sh: instructions per op of sub-benchmarks, from valgrind's
# callgrind, which counts instructions and so is stable on a loaded machine.
#
#	examples/stm/callgrind.sh PKG BENCH [CPU]
#
# PKG is a package directory (./examples/stm), BENCH a -test.bench pattern
# naming one benchmark (BenchmarkRead), CPU the -test.cpu value (1). Each
# sub-benchmark runs twice, for N1 and N2 iterations (-test.benchtime=Nx);
# instructions per op is the difference of the two totals over N2-N1, so the
# start-up and set-up instructions cancel. Go's asynchronous preemption is
# off (GODEBUG=asyncpreemptoff=1): callgrind asserts on its signals.
set -eu
pkg=$1 bench=$2 cpu=${3:-1}
n1=${N1:-200000} n2=${N2:-600000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/t.test" "$pkg"
subs=$("$dir/t.test" -test.run='^$' -test.bench="^$bench\$" -test.benchtime=1x -test.cpu=1 |
	sed -n "s|^$bench/\([^ 	-]*\).*|\1|p")
ir() {
	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
		"$dir/t.test" -test.run='^$' -test.bench="^$bench\$/^$1\$" -test.benchtime="$2x" \
		-test.cpu="$cpu" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'
}
for s in $subs; do
	a=$(ir "$s" "$n1") b=$(ir "$s" "$n2")
	echo "$bench/$s cpu=$cpu $(echo "scale=1; ($b - $a) / ($n2 - $n1)" | bc) instructions/op"
done
