package lint

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/inspector"
)

// inlinesOnFact marks a package that inlines (*dflag.Flag).On somewhere:
// the compiler re-exports On's body in its export data, so a package that
// imports it can inline On too (see the package documentation).
type inlinesOnFact struct{}

func (*inlinesOnFact) AFact()         {}
func (*inlinesOnFact) String() string { return "inlinesOn" }

// seesOnBody reports whether the compiler, compiling this package, has the
// body of (*dflag.Flag).On to inline: the package is dflag or imports it
// (a blank import is enough), or it imports a package that inlines On.
func seesOnBody(pass *analysis.Pass) bool {
	if pass.Pkg.Path() == DflagPath {
		return true
	}
	for _, imp := range pass.Pkg.Imports() {
		if imp.Path() == DflagPath || pass.ImportPackageFact(imp, new(inlinesOnFact)) {
			return true
		}
	}
	return false
}

// isOn reports whether sel selects the method (*dflag.Flag).On, in a call
// or as a method value (not as a method expression, which is On itself).
func isOn(pass *analysis.Pass, sel *ast.SelectorExpr) bool {
	s, ok := pass.TypesInfo.Selections[sel]
	if !ok || s.Kind() != types.MethodVal {
		return false
	}
	fn, ok := s.Obj().(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Pkg().Path() != DflagPath || fn.Name() != "On" {
		return false
	}
	p, ok := fn.Signature().Recv().Type().(*types.Pointer)
	if !ok {
		return false
	}
	n, ok := types.Unalias(p.Elem()).(*types.Named)
	return ok && n.Obj().Name() == "Flag"
}

// checkOn exports inlinesOnFact when the package inlines On (a call, or a
// method value, whose wrapper calls On) and, if reporting, reports each
// call of On that compiles to a CALL instead of one load.
func checkOn(pass *analysis.Pass, insp *inspector.Inspector, reporting bool) {
	var calls []*ast.CallExpr
	uses := 0
	for cur := range insp.Root().Preorder((*ast.SelectorExpr)(nil)) {
		sel := cur.Node().(*ast.SelectorExpr)
		if !isOn(pass, sel) {
			continue
		}
		uses++
		if call, ok := cur.Parent().Node().(*ast.CallExpr); ok && ast.Unparen(call.Fun) == sel {
			calls = append(calls, call)
		}
	}
	if uses == 0 {
		return
	}
	if seesOnBody(pass) {
		pass.ExportPackageFact(new(inlinesOnFact))
		return
	}
	if !reporting {
		return
	}
	for _, call := range calls {
		d := analysis.Diagnostic{
			Pos: call.Pos(), End: call.End(),
			Message: "(*dflag.Flag).On is not inlined here (a CALL, not one load): this package imports neither bounded.dev/dflag nor a package that inlines On; " +
				`import "bounded.dev/dflag" (a blank import is enough)`,
		}
		if edit, ok := blankImport(pass, call.Pos()); ok {
			d.SuggestedFixes = []analysis.SuggestedFix{{
				Message:   `add import _ "bounded.dev/dflag"`,
				TextEdits: []analysis.TextEdit{edit},
			}}
		}
		reportDiagnostic(pass, d)
	}
}

// blankImport returns an edit that adds import _ "bounded.dev/dflag" to
// the file holding pos, after its last import declaration (or its package
// clause).
func blankImport(pass *analysis.Pass, pos token.Pos) (analysis.TextEdit, bool) {
	for _, f := range pass.Files {
		if pass.Fset.File(f.FileStart) != pass.Fset.File(pos) {
			continue
		}
		at := f.Name.End()
		for _, decl := range f.Decls {
			if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
				at = gd.End()
			}
		}
		return analysis.TextEdit{Pos: at, End: at, NewText: []byte("\n\nimport _ \"" + DflagPath + "\"")}, true
	}
	return analysis.TextEdit{}, false
}
