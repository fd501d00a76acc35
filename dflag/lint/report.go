package lint

import (
	"strings"

	"golang.org/x/tools/go/analysis"
)

// IgnoreDirective, in a comment on the line of a finding or on the line
// above it, silences the finding.
const IgnoreDirective = "//dflaglint:ignore"

// report reports a finding unless an IgnoreDirective comment covers it.
func report(pass *analysis.Pass, rng analysis.Range, format string, args ...any) {
	pos := pass.Fset.Position(rng.Pos())
	for _, f := range pass.Files {
		if pass.Fset.File(f.FileStart) != pass.Fset.File(rng.Pos()) {
			continue
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if !strings.HasPrefix(c.Text, IgnoreDirective) {
					continue
				}
				if l := pass.Fset.Position(c.Slash).Line; l == pos.Line || l == pos.Line-1 {
					return
				}
			}
		}
	}
	pass.ReportRangef(rng, format, args...)
}
