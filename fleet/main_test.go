package fleet

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if os.Getenv(probeEnv) != "" {
		probeMain() // this binary re-executed as a fleet instance
	}
	os.Exit(m.Run())
}
