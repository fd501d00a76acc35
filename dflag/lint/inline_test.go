package lint

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"
)

// TestOnInlining pins the rule for when the compiler inlines
// (*dflag.Flag).On: each package's comment says why it is or is not
// reported, and oncall.go.golden holds the suggested fix.
func TestOnInlining(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), Analyzer,
		"oncall", "oncallblank", "oncalltyped", "inliner", "oncallvia", "noinliner", "oncallnot", "methodvalue")
}
