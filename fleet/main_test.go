package fleet

import (
	"fmt"
	"os"
	"testing"

	"bounded.dev/dflag"
)

func TestMain(m *testing.M) {
	if os.Getenv(probeEnv) != "" {
		probeMain() // this binary re-executed as a fleet instance
	}
	// The tests' flags start from their constructors' defaults, whatever
	// DFLAG the environment has.
	os.Unsetenv("DFLAG")
	os.Unsetenv("DFLAG_FILE")
	if err := dflag.Init(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
