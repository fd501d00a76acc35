package lint

import (
	"fmt"
	"go/token"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// IgnoreDirective, in a comment on the line of a finding or on the line
// above it, silences the finding.
const IgnoreDirective = "//dflaglint:ignore"

// report reports a finding unless an IgnoreDirective comment covers it.
func report(pass *analysis.Pass, rng analysis.Range, format string, args ...any) {
	reportDiagnostic(pass, analysis.Diagnostic{Pos: rng.Pos(), End: rng.End(), Message: fmt.Sprintf(format, args...)})
}

// reportDiagnostic reports d unless an IgnoreDirective comment covers it.
func reportDiagnostic(pass *analysis.Pass, d analysis.Diagnostic) {
	if !ignored(pass, d.Pos) {
		pass.Report(d)
	}
}

// ignored reports whether an IgnoreDirective comment is on the line of pos
// or on the line above it.
func ignored(pass *analysis.Pass, p token.Pos) bool {
	pos := pass.Fset.Position(p)
	for _, f := range pass.Files {
		if pass.Fset.File(f.FileStart) != pass.Fset.File(p) {
			continue
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if !strings.HasPrefix(c.Text, IgnoreDirective) {
					continue
				}
				if l := pass.Fset.Position(c.Slash).Line; l == pos.Line || l == pos.Line-1 {
					return true
				}
			}
		}
	}
	return false
}
