package srcpath

import (
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Of returns the stable name of file, the source file of the function whose
// symbol name is function (as [runtime.Frame.Function] reports it, for
// example "bounded.dev/x%2ev2.(*T).M"): the function's import path joined
// with the file's base name. A path that is already relative (a -trimpath
// build) is returned as is, with forward slashes. The main package is named
// after the main module's path when the build records it; otherwise, or
// when function names no package, Of returns the base name alone.
func Of(function, file string) string {
	file = filepath.ToSlash(file)
	if !path.IsAbs(file) {
		return file // already trimmed (-trimpath)
	}
	pkg := Package(function)
	if pkg == "main" {
		pkg = mainPath()
	}
	if pkg == "" {
		return path.Base(file)
	}
	return pkg + "/" + path.Base(file)
}

// Frame returns the stable file name and the line of the innermost function
// at pc, a return address as [runtime.Callers] reports it (pass address+1
// for the instruction at address). It returns "?", 0 when pc is not in Go
// code.
func Frame(pc uintptr) (file string, line int) {
	frame, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	if frame.File == "" {
		return "?", 0
	}
	return Of(frame.Function, frame.File), frame.Line
}

// Package extracts the import path from a symbol name such as
// "bounded.dev/x%2ev2.(*T).M" or "bounded.dev/x_test.init" (an external
// test package is named after the package it tests). It returns "" when
// the name holds no package.
func Package(function string) string {
	slash := strings.LastIndexByte(function, '/')
	dot := strings.IndexByte(function[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	pkg := strings.ReplaceAll(function[:slash+1+dot], "%2e", ".")
	return strings.TrimSuffix(pkg, "_test") // external test packages
}

// mainPath is the main module's path ("" when unknown), for package main.
var mainPath = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Path == "" || bi.Path == "command-line-arguments" {
		return ""
	}
	return strings.TrimSuffix(bi.Path, ".test")
})
