package lint

import (
	"go/ast"
	"go/constant"
	"go/types"

	"golang.org/x/tools/go/analysis"
)

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
