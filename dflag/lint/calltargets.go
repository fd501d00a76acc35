package lint

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/analysis"
)

// checkCallsTarget checks the function whose call sites OptCalls or
// DefaultCalls would patch.
func checkCallsTarget(pass *analysis.Pass, arg ast.Expr, ci *callInfo, noinline map[*types.Func]bool) {
	e := ast.Unparen(arg)
	switch x := e.(type) {
	case *ast.FuncLit:
		report(pass, arg, "%s: a function literal has no call sites to patch; pass a top-level //go:noinline function", ci.name)
		return
	case *ast.IndexExpr, *ast.IndexListExpr:
		report(pass, arg, "%s: a generic instantiation cannot be patched; pass a top-level //go:noinline function", ci.name)
		return
	case *ast.SelectorExpr:
		if sel, ok := pass.TypesInfo.Selections[x]; ok {
			what := "method value"
			if sel.Kind() == types.MethodExpr {
				what = "method expression"
			}
			if sel.Kind() != types.FieldVal {
				report(pass, arg, "%s: a %s cannot be patched; pass a top-level //go:noinline function", ci.name, what)
			}
			return
		}
		e = x.Sel // a qualified identifier: pkg.F
	}
	id, ok := e.(*ast.Ident)
	if !ok {
		return
	}
	fn, ok := pass.TypesInfo.Uses[id].(*types.Func)
	if !ok {
		return // a variable: its value is checked at run time
	}
	if _, ok := pass.TypesInfo.Instances[id]; ok || fn.Signature().TypeParams().Len() > 0 {
		report(pass, arg, "%s: generic function %s cannot be patched; pass a non-generic top-level //go:noinline function", ci.name, fn.Name())
		return
	}
	if noinline[fn] || fn.Pkg() != pass.Pkg && pass.ImportObjectFact(fn, new(noinlineFact)) {
		return
	}
	report(pass, arg, "%s: %s is not marked //go:noinline: the compiler may inline it and leave no call sites to patch", ci.name, qualified(pass, fn))
}

func qualified(pass *analysis.Pass, fn *types.Func) string {
	if fn.Pkg() == pass.Pkg {
		return fn.Name()
	}
	return fn.Pkg().Name() + "." + fn.Name()
}
