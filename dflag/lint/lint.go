// Package lint is a go/analysis analyzer that keeps dynamic flags honest.
// It reports:
//
//   - functions passed to dflag.OptCalls or dflag.DefaultCalls (or to the
//     OptCalls and DefaultCalls methods of an aspect.Kind) that are not
//     top-level functions marked //go:noinline: an inlined function leaves
//     no call to patch, and closures, methods and generic instantiations
//     are refused at run time;
//   - flag constructors (dflag.Feature, Default, Opt and Declare, the Opt,
//     Default and Feature methods of an aspect.Kind, and wrappers that call
//     dflag.Declare with a non-zero skip) called anywhere but in the
//     initializer of a package-level var: each call makes a new record, so a
//     constructor in a function leaks a record per call;
//   - constant kinds that are not identifiers, and constant names that are
//     empty or contain '@', a newline or NUL, which panic at run time.
//
// With -list, it reports nothing and instead prints every flag declaration
// as kind:name@file:line followed by its constructor and docstring, where
// file is import-path-qualified as the running program names it: the audit
// for stale flags that the C library's article recommends.
//
// The command bounded.dev/cmd/dflaglint runs it standalone or under go vet.
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
	"strconv"
	"strings"
	"sync"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// The packages whose API the analyzer knows.
const (
	DflagPath  = "bounded.dev/dflag"
	AspectPath = "bounded.dev/aspect"
)

// Analyzer reports misuses of package dflag; see the package documentation.
var Analyzer = &analysis.Analyzer{
	Name:      "dflaglint",
	Doc:       "check dynamic flag declarations (bounded.dev/dflag)\n\nReports call-site functions without //go:noinline, flag constructors outside package-level var initializers, and kinds or names that panic at run time. With -list, prints every flag declared instead.",
	URL:       "https://pkg.go.dev/bounded.dev/dflag/lint",
	Run:       run,
	Requires:  []*analysis.Analyzer{inspect.Analyzer},
	FactTypes: []analysis.Fact{new(noinlineFact), new(constructorFact), new(kindFact)},
}

var listMode bool

func init() {
	Analyzer.Flags.BoolVar(&listMode, "list", false, "print every flag declared, as kind:name@file:line, instead of reporting problems")
}

// listing is where -list prints, each line once per process (a package
// and its test variant share their non-test files).
var listing = struct {
	sync.Mutex
	w    io.Writer
	seen map[string]bool
}{w: os.Stdout, seen: map[string]bool{}}

// noinlineFact marks a function declared with //go:noinline (or without a
// body, as assembly functions are, which are never inlined).
type noinlineFact struct{}

func (*noinlineFact) AFact()         {}
func (*noinlineFact) String() string { return "noinline" }

// constructorFact marks a function that declares a flag named after its
// caller's line: a wrapper that calls dflag.Declare with a non-zero skip.
// Kind is the constant kind it declares ("" if not constant); KindParam and
// NameParam are the indices of the parameters passed on as kind and name,
// -1 if none.
type constructorFact struct {
	Kind      string
	KindParam int
	NameParam int
	Mode      string
}

func (*constructorFact) AFact() {}
func (f *constructorFact) String() string {
	return fmt.Sprintf("constructor(kind=%q/%d name=%d %s)", f.Kind, f.KindParam, f.NameParam, f.Mode)
}

// kindFact records the kind of a package-level variable initialised by an
// aspect kind constructor, such as var tracing = aspect.New("request_tracing").
type kindFact struct{ Kind string }

func (*kindFact) AFact()           {}
func (f *kindFact) String() string { return "kind " + strconv.Quote(f.Kind) }

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
		case "ActivateKind", "DeactivateKind", "HoldKind":
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
	case pkg == AspectPath && sig.Recv() == nil && isKindConstructor(sig):
		return &callInfo{role: roleKindOnly, name: "aspect." + fn.Name(), kindArg: 0, nameArg: -1, fnArg: -1, docArg: -1, skipArg: -1}
	}
	var f constructorFact
	if pass.ImportObjectFact(fn, &f) {
		return &callInfo{role: roleConstructor, name: fn.Name(), mode: f.Mode, kindArg: f.KindParam, nameArg: f.NameParam,
			fnArg: -1, docArg: -1, skipArg: -1, wrapper: fn, fact: &f}
	}
	return nil
}

// isAspectKind reports whether t is aspect.Kind or *aspect.Kind.
func isAspectKind(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == AspectPath && n.Obj().Name() == "Kind"
}

// isKindConstructor reports whether an aspect function takes the kind
// first and returns a Kind, as aspect.New("request_tracing") does.
func isKindConstructor(sig *types.Signature) bool {
	if sig.Params().Len() == 0 || sig.Results().Len() == 0 {
		return false
	}
	b, ok := sig.Params().At(0).Type().Underlying().(*types.Basic)
	return ok && b.Kind() == types.String && isAspectKind(sig.Results().At(0).Type())
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
	implementation := pkgPath == DflagPath || pkgPath == AspectPath

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
	return nil, nil
}

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

// exportNoinline finds the package's //go:noinline functions and exports a
// fact for each.
func exportNoinline(pass *analysis.Pass) map[*types.Func]bool {
	set := map[*types.Func]bool{}
	for _, file := range pass.Files {
		for _, decl := range file.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || !(fd.Body == nil || hasDirective(fd.Doc, "//go:noinline")) {
				continue
			}
			if fn, ok := pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
				set[fn] = true
				pass.ExportObjectFact(fn, new(noinlineFact))
			}
		}
	}
	return set
}

func hasDirective(doc *ast.CommentGroup, directive string) bool {
	if doc == nil {
		return false
	}
	for _, c := range doc.List {
		if c.Text == directive || strings.HasPrefix(c.Text, directive+" ") {
			return true
		}
	}
	return false
}

// exportKinds exports the kind of each package-level variable initialised
// by an aspect kind constructor with a constant kind.
func exportKinds(pass *analysis.Pass) {
	for _, file := range pass.Files {
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if len(vs.Values) != len(vs.Names) {
					continue
				}
				for i, v := range vs.Values {
					call, ok := ast.Unparen(v).(*ast.CallExpr)
					if !ok {
						continue
					}
					ci := classify(pass, call)
					if ci == nil || ci.role != roleKindOnly || !strings.HasPrefix(ci.name, "aspect.") {
						continue
					}
					kind, ok := stringArg(pass, call, ci.kindArg)
					obj, isVar := pass.TypesInfo.Defs[vs.Names[i]].(*types.Var)
					if ok && isVar {
						pass.ExportObjectFact(obj, &kindFact{kind})
					}
				}
			}
		}
	}
}

// exportWrappers finds functions that call dflag.Declare with a skip other
// than the constant 0: flag constructors named after their caller's line.
func exportWrappers(pass *analysis.Pass) {
	for _, file := range pass.Files {
		for _, decl := range file.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			fn, _ := pass.TypesInfo.Defs[fd.Name].(*types.Func)
			if fn == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if _, ok := n.(*ast.FuncLit); ok {
					return false
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				ci := classify(pass, call)
				if ci == nil || ci.name != "dflag.Declare" || len(call.Args) < 4 {
					return true
				}
				if skip, ok := intArg(pass, call, ci.skipArg); ok && skip == 0 {
					return true
				}
				f := &constructorFact{KindParam: paramIndex(pass, fn, call.Args[2]), NameParam: paramIndex(pass, fn, call.Args[3]), Mode: "declare"}
				f.Kind, _ = stringArg(pass, call, 2)
				if m, ok := pass.TypesInfo.Types[call.Args[1]]; ok && m.Value != nil {
					if v, ok := constant.Int64Val(m.Value); ok && v >= 0 && v < 3 {
						f.Mode = [...]string{"feature", "default", "opt"}[v]
					}
				}
				pass.ExportObjectFact(fn, f)
				return false
			})
		}
	}
}

// paramIndex returns the index of the parameter of fn that e names, or -1.
func paramIndex(pass *analysis.Pass, fn *types.Func, e ast.Expr) int {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return -1
	}
	obj := pass.TypesInfo.Uses[id]
	params := fn.Signature().Params()
	for i := range params.Len() {
		if params.At(i) == obj && !(fn.Signature().Variadic() && i == params.Len()-1) {
			return i
		}
	}
	return -1
}

func stringArg(pass *analysis.Pass, call *ast.CallExpr, i int) (string, bool) {
	if i < 0 || i >= len(call.Args) || call.Ellipsis.IsValid() && i == len(call.Args)-1 {
		return "", false
	}
	tv, ok := pass.TypesInfo.Types[call.Args[i]]
	if !ok || tv.Value == nil || tv.Value.Kind() != constant.String {
		return "", false
	}
	return constant.StringVal(tv.Value), true
}

func intArg(pass *analysis.Pass, call *ast.CallExpr, i int) (int64, bool) {
	if i < 0 || i >= len(call.Args) {
		return 0, false
	}
	tv, ok := pass.TypesInfo.Types[call.Args[i]]
	if !ok || tv.Value == nil {
		return 0, false
	}
	return constant.Int64Val(constant.ToInt(tv.Value))
}

// checkKindAndName reports constant kinds and names that the constructors
// would refuse with a panic.
func checkKindAndName(pass *analysis.Pass, call *ast.CallExpr, ci *callInfo) {
	if kind, ok := stringArg(pass, call, ci.kindArg); ok && !isIdent(kind) {
		report(pass, call.Args[ci.kindArg], "%s: kind %q is not an identifier ([A-Za-z_][A-Za-z0-9_]*); it panics at run time", ci.name, kind)
	}
	name, ok := stringArg(pass, call, ci.nameArg)
	switch {
	case !ok:
	case name == "":
		report(pass, call.Args[ci.nameArg], "%s: empty flag name; it panics at run time", ci.name)
	case strings.ContainsAny(name, "@\n\x00"):
		report(pass, call.Args[ci.nameArg], "%s: flag name %q contains '@', a newline or NUL; it panics at run time", ci.name, name)
	}
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

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

// receiverKind resolves the kind of an aspect receiver that names a
// package-level variable initialised by an aspect kind constructor.
func receiverKind(pass *analysis.Pass, recv ast.Expr) (string, bool) {
	e := ast.Unparen(recv)
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = ast.Unparen(u.X)
	}
	var id *ast.Ident
	switch x := e.(type) {
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
