//go:build !race

package stm_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
