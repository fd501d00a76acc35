package lint

import (
	"go/ast"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// role is what a call does, as far as the analyzer cares.
type role int

const (
	roleNone        role = iota
	roleConstructor      // declares a hook flag
	roleCalls            // registers call sites (OptCalls, DefaultCalls)
	roleKindOnly         // takes a kind: ActivateKind, DeactivateKind, HoldKind, aspect kind constructors
)

// callInfo describes a call to a known function: which arguments hold what
// (-1: none), and where the kind comes from when it is not an argument.
type callInfo struct {
	role             role
	name             string // for messages: dflag.Opt, (*aspect.Kind).Opt, ...
	mode             string // feature, default, opt; for calls: opt-calls, default-calls
	kindArg, nameArg int
	fnArg, docArg    int
	skipArg          int         // Declare's skip
	recv             ast.Expr    // aspect receiver, whose kind is a fact
	wrapper          *types.Func // a user wrapper with constructorFact
	fact             *constructorFact
}

// classify recognises calls to the dflag and aspect API and to wrappers.
func classify(pass *analysis.Pass, call *ast.CallExpr) *callInfo {
	fn, ok := typeutil.Callee(pass.TypesInfo, call).(*types.Func)
	if !ok || fn.Pkg() == nil {
		return nil
	}
	sig := fn.Signature()
	switch pkg := fn.Pkg().Path(); {
	case pkg == DflagPath && sig.Recv() == nil:
		ci := &callInfo{name: "dflag." + fn.Name(), kindArg: 0, nameArg: 1, fnArg: -1, docArg: 2, skipArg: -1}
		switch fn.Name() {
		case "Feature", "Default", "Opt":
			ci.role, ci.mode = roleConstructor, strings.ToLower(fn.Name())
		case "Declare":
			ci.role, ci.mode = roleConstructor, "declare"
			ci.skipArg, ci.kindArg, ci.nameArg, ci.docArg = 0, 2, 3, 4
		case "OptCalls", "DefaultCalls":
			ci.role, ci.mode = roleCalls, strings.ToLower(strings.TrimSuffix(fn.Name(), "Calls"))+"-calls"
			ci.fnArg, ci.docArg = 2, 3
		case "ActivateKind", "DeactivateKind", "HoldKind", "NewKindHold":
			ci.role, ci.nameArg, ci.docArg = roleKindOnly, -1, -1
		default:
			return nil
		}
		return ci
	case pkg == AspectPath && sig.Recv() != nil && isAspectKind(sig.Recv().Type()):
		sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
		if !ok {
			return nil // a method expression: (*aspect.Kind).Opt(k, ...)
		}
		ci := &callInfo{name: "(*aspect.Kind)." + fn.Name(), kindArg: -1, nameArg: 0, fnArg: -1, docArg: 1, skipArg: -1, recv: sel.X}
		switch fn.Name() {
		case "Feature", "Default", "Opt":
			ci.role, ci.mode = roleConstructor, strings.ToLower(fn.Name())
		case "OptCalls", "DefaultCalls":
			ci.role, ci.mode = roleCalls, strings.ToLower(strings.TrimSuffix(fn.Name(), "Calls"))+"-calls"
			ci.fnArg, ci.docArg = 1, 2
		default:
			return nil
		}
		return ci
	case (pkg == AspectPath || pkg == PhasePath) && sig.Recv() == nil && isKindConstructor(sig):
		return &callInfo{role: roleKindOnly, name: fn.Pkg().Name() + "." + fn.Name(), kindArg: 0, nameArg: -1, fnArg: -1, docArg: -1, skipArg: -1}
	}
	var f constructorFact
	if pass.ImportObjectFact(fn, &f) {
		return &callInfo{role: roleConstructor, name: fn.Name(), mode: f.Mode, kindArg: f.KindParam, nameArg: f.NameParam,
			fnArg: -1, docArg: -1, skipArg: -1, wrapper: fn, fact: &f}
	}
	return nil
}

// isAspectKind reports whether t is aspect.Kind or *aspect.Kind.
func isAspectKind(t types.Type) bool { return isNamed(t, AspectPath, "Kind") }

// isKindConstructor reports whether an aspect or phase function takes the
// kind first and returns a Kind or a Phase, as aspect.New("request_tracing"),
// phase.Kind("stm") and phase.Of("stm") do.
func isKindConstructor(sig *types.Signature) bool {
	if sig.Params().Len() == 0 || sig.Results().Len() == 0 {
		return false
	}
	b, ok := sig.Params().At(0).Type().Underlying().(*types.Basic)
	res := sig.Results().At(0).Type()
	return ok && b.Kind() == types.String && (isAspectKind(res) || isNamed(res, PhasePath, "Phase"))
}

// isNamed reports whether t is the named type pkg.name or a pointer to it.
func isNamed(t types.Type, pkg, name string) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkg && n.Obj().Name() == name
}
