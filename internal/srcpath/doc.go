// Package srcpath names Go source files independently of the build
// directory: import-path-qualified, as go build -trimpath prints them (for
// example bounded.dev/dflag/flag.go), never an absolute path. Flag names in
// package dflag and the code.file.path of log records use it, so that the
// same source line has the same name on every machine.
package srcpath
