package lint

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/constant"
	"go/format"
	"go/token"
	"go/types"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"golang.org/x/tools/go/analysis"
)

// listing is where -list prints, each line once per process (a package
// and its test variant share their non-test files).
var listing = struct {
	sync.Mutex
	w    io.Writer
	seen map[string]bool
}{w: os.Stdout, seen: map[string]bool{}}

// list prints one declaration.
func list(pass *analysis.Pass, call *ast.CallExpr, ci *callInfo) {
	kind, ok := stringArg(pass, call, ci.kindArg)
	if !ok && ci.recv != nil {
		kind, ok = receiverKind(pass, ci.recv)
	}
	if !ok && ci.fact != nil && ci.fact.Kind != "" {
		kind, ok = ci.fact.Kind, true
	}
	if !ok {
		kind = "?"
	}
	name, ok := stringArg(pass, call, ci.nameArg)
	if !ok {
		name = "?"
	}
	mode := ci.mode
	if ci.name == "dflag.Declare" && len(call.Args) > 1 {
		if tv, ok := pass.TypesInfo.Types[call.Args[1]]; ok && tv.Value != nil {
			if v, ok := constant.Int64Val(tv.Value); ok && v >= 0 && v < 3 {
				mode = [...]string{"feature", "default", "opt"}[v]
			}
		}
	}
	if ci.role == roleCalls && ci.fnArg < len(call.Args) {
		mode += " " + exprString(pass, call.Args[ci.fnArg])
	}
	pos := pass.Fset.Position(call.Lparen) // the line the program's runtime reports
	file := path.Base(pos.Filename)
	if pkg := strings.TrimSuffix(pass.Pkg.Path(), "_test"); pkg != "" {
		file = pkg + "/" + file
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s:%s@%s:%d %s", kind, name, file, pos.Line, mode)
	if ci.docArg >= 0 && ci.docArg < len(call.Args) && !call.Ellipsis.IsValid() {
		var docs []string
		for _, a := range call.Args[ci.docArg:] {
			if tv, ok := pass.TypesInfo.Types[a]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
				docs = append(docs, constant.StringVal(tv.Value))
			} else {
				docs = append(docs, "?")
			}
		}
		if doc := strings.Join(docs, " "); doc != "" {
			fmt.Fprintf(&b, ": %s", strings.ReplaceAll(doc, "\n", " "))
		}
	}
	line := b.String()
	listing.Lock()
	defer listing.Unlock()
	if !listing.seen[line] {
		listing.seen[line] = true
		fmt.Fprintln(listing.w, line)
	}
}

// receiverKind resolves the kind of an aspect receiver that is a call of
// a kind constructor with a constant kind (phase.Kind(phase.STM)), the Kind
// of such a phase (phase.Of(phase.STM).Kind()), or names a package-level
// variable initialised by one.
func receiverKind(pass *analysis.Pass, recv ast.Expr) (string, bool) {
	e := ast.Unparen(recv)
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = ast.Unparen(u.X)
	}
	var id *ast.Ident
	switch x := e.(type) {
	case *ast.CallExpr:
		if ci := classify(pass, x); isKindCall(ci) {
			return stringArg(pass, x, ci.kindArg)
		}
		// p.Kind() on a phase: the phase's name is its kind.
		if sel, ok := ast.Unparen(x.Fun).(*ast.SelectorExpr); ok && sel.Sel.Name == "Kind" && len(x.Args) == 0 {
			if s, ok := pass.TypesInfo.Selections[sel]; ok && isNamed(s.Recv(), PhasePath, "Phase") {
				return receiverKind(pass, sel.X)
			}
		}
		return "", false
	case *ast.Ident:
		id = x
	case *ast.SelectorExpr:
		id = x.Sel
	default:
		return "", false
	}
	v, ok := pass.TypesInfo.Uses[id].(*types.Var)
	if !ok {
		return "", false
	}
	var f kindFact
	if pass.ImportObjectFact(v, &f) {
		return f.Kind, true
	}
	return "", false
}

// exprString prints a function argument, qualifying an identifier from
// another package by its import path.
func exprString(pass *analysis.Pass, e ast.Expr) string {
	var id *ast.Ident
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		id = x
	case *ast.SelectorExpr:
		id = x.Sel
	}
	if id != nil {
		if fn, ok := pass.TypesInfo.Uses[id].(*types.Func); ok && fn.Pkg() != nil {
			return strings.TrimSuffix(fn.Pkg().Path(), "_test") + "." + fn.Name()
		}
	}
	var b bytes.Buffer
	if err := format.Node(&b, pass.Fset, e); err != nil {
		return "?"
	}
	return b.String()
}

// isKindCall reports whether ci is a call of a kind constructor, such as
// aspect.New or phase.Kind.
func isKindCall(ci *callInfo) bool {
	return ci != nil && ci.role == roleKindOnly && (strings.HasPrefix(ci.name, "aspect.") || strings.HasPrefix(ci.name, "phase."))
}
