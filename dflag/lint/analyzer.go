package lint

import (
	"go/ast"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

// The packages whose API the analyzer knows.
const (
	DflagPath  = "bounded.dev/dflag"
	AspectPath = "bounded.dev/aspect"
	PhasePath  = "bounded.dev/phase"
)

// Analyzer reports misuses of package dflag; see the package documentation.
var Analyzer = &analysis.Analyzer{
	Name:      "dflaglint",
	Doc:       "check dynamic flag declarations (bounded.dev/dflag)\n\nReports call-site functions without //go:noinline, flag constructors outside package-level var initializers, kinds or names that panic at run time, and calls of On the compiler cannot inline. With -list, prints every flag declared instead.",
	URL:       "https://pkg.go.dev/bounded.dev/dflag/lint",
	Run:       run,
	Requires:  []*analysis.Analyzer{inspect.Analyzer},
	FactTypes: []analysis.Fact{new(noinlineFact), new(constructorFact), new(kindFact), new(inlinesOnFact)},
}

var listMode bool

func init() {
	Analyzer.Flags.BoolVar(&listMode, "list", false, "print every flag declared, as kind:name@file:line, instead of reporting problems")
}

func run(pass *analysis.Pass) (any, error) {
	insp := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	noinline := exportNoinline(pass)
	exportKinds(pass)
	exportWrappers(pass)

	// The packages that implement the constructors call them inside
	// functions on purpose, and test their panics: they are neither
	// checked nor listed.
	pkgPath := strings.TrimSuffix(pass.Pkg.Path(), "_test")
	implementation := pkgPath == DflagPath || pkgPath == AspectPath || pkgPath == PhasePath

	for cur := range insp.Root().Preorder((*ast.CallExpr)(nil)) {
		call := cur.Node().(*ast.CallExpr)
		ci := classify(pass, call)
		if ci == nil {
			continue
		}
		if listMode {
			if (ci.role == roleConstructor || ci.role == roleCalls) && !implementation && !inWrapper(pass, call, ci) {
				list(pass, call, ci)
			}
			continue
		}
		if implementation {
			continue
		}
		checkKindAndName(pass, call, ci)
		if ci.role == roleCalls && ci.fnArg < len(call.Args) {
			checkCallsTarget(pass, call.Args[ci.fnArg], ci, noinline)
		}
		if ci.role == roleConstructor {
			checkPlacement(pass, cur, call, ci)
		}
	}
	checkOn(pass, insp, !listMode && !implementation)
	return nil, nil
}
