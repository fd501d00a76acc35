package lint

import (
	"go/ast"
	"go/token"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/inspector"
)

// checkPlacement reports a constructor call that is not evaluated exactly
// once, in the initializer of a package-level var.
func checkPlacement(pass *analysis.Pass, cur inspector.Cursor, call *ast.CallExpr, ci *callInfo) {
	for c := range cur.Enclosing() {
		switch n := c.Node().(type) {
		case *ast.FuncLit:
			report(pass, call, "%s called in a function literal: each call declares a new flag record; declare flags in package-level var initializers", ci.name)
			return
		case *ast.FuncDecl:
			if ci.name == "dflag.Declare" {
				if skip, ok := intArg(pass, call, ci.skipArg); !ok || skip != 0 {
					return // a wrapper (exported as a constructor fact); its callers are checked
				}
			}
			report(pass, call, "%s called in function %s: each call declares a new flag record; declare flags in package-level var initializers", ci.name, n.Name.Name)
			return
		case *ast.GenDecl:
			if n.Tok == token.VAR {
				return // reached from a package-level var without passing a function
			}
		}
	}
	report(pass, call, "%s called outside a package-level var initializer: each call declares a new flag record", ci.name)
}

// inWrapper reports whether call is the dflag.Declare call of a wrapper
// (a skip other than the constant 0), which names flags after its callers.
func inWrapper(pass *analysis.Pass, call *ast.CallExpr, ci *callInfo) bool {
	if ci.name != "dflag.Declare" {
		return false
	}
	skip, ok := intArg(pass, call, ci.skipArg)
	return !ok || skip != 0
}
