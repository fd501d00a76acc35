package otelmetrics_test

import (
	"os"
	"testing"

	"bounded.dev/dflag/dflagtest"
)

// TestMain clears the environment dflag reads but does not call Init:
// TestMetrics counts Init's operation when it runs first.
func TestMain(m *testing.M) {
	for _, v := range dflagtest.Env {
		os.Unsetenv(v)
	}
	os.Exit(m.Run())
}
