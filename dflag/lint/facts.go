package lint

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
)

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
// by a kind constructor with a constant kind, or by another such variable
// (var stm = phase.STM).
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
					obj, isVar := pass.TypesInfo.Defs[vs.Names[i]].(*types.Var)
					if !isVar {
						continue
					}
					// var stm = phase.STM, or any receiver whose kind is known.
					if kind, ok := receiverKind(pass, v); ok {
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
