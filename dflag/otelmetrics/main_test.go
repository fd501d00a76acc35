package otelmetrics_test

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// The tests do not depend on the ambient startup terms.
	os.Unsetenv("DFLAG")
	os.Unsetenv("DFLAG_FILE")
	os.Exit(m.Run())
}
