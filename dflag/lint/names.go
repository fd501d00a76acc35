package lint

import (
	"go/ast"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// checkKindAndName reports constant kinds and names that the API refuses
// at run time: constructors with a panic, kind operations with an error.
func checkKindAndName(pass *analysis.Pass, call *ast.CallExpr, ci *callInfo) {
	if kind, ok := stringArg(pass, call, ci.kindArg); ok && !isIdent(kind) {
		fate := "it panics at run time"
		if ci.role == roleKindOnly && strings.HasPrefix(ci.name, "dflag.") {
			fate = "it is refused at run time with an error"
		}
		report(pass, call.Args[ci.kindArg], "%s: kind %q is not an identifier ([A-Za-z_][A-Za-z0-9_]*); %s", ci.name, kind, fate)
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
