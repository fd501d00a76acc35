package dflag

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TermError reports a malformed startup term.
type TermError struct {
	Term string // the term as written
	Err  error  // what is wrong with it; a *PatternError for a bad pattern
}

func (e *TermError) Error() string {
	reason := e.Err.Error()
	if pe, ok := e.Err.(*PatternError); ok {
		reason = pe.reason()
	}
	return fmt.Sprintf("dflag: term %q: %s", e.Term, reason)
}

// Unwrap returns the underlying error.
func (e *TermError) Unwrap() error { return e.Err }

// term is one validated startup term.
type term struct {
	op      Op
	pattern string
	m       *matcher
}

// parseTerm validates one term: an operator character followed by a
// pattern.
func parseTerm(s string) (term, error) {
	if s == "" {
		return term{}, &TermError{Term: s, Err: errors.New("empty term")}
	}
	var op Op
	switch s[0] {
	case '+':
		op = OpActivate
	case '-':
		op = OpDeactivate
	case '!':
		op = OpUnhook
	case '?':
		op = OpRehook
	default:
		return term{}, &TermError{Term: s, Err: errors.New("must start with + (activate), - (deactivate), ! (unhook) or ? (rehook)")}
	}
	m, err := compile(s[1:])
	if err != nil {
		return term{}, &TermError{Term: s, Err: err}
	}
	return term{op: op, pattern: s[1:], m: m}, nil
}

// Apply validates every term, then applies them in order: "+re" activates,
// "-re" deactivates, "!re" unhooks and "?re" rehooks the flags whose full
// name matches re. Each term is one whole pattern (no quoting). If any term
// is malformed, Apply returns an error naming it and applies none.
func Apply(terms ...string) error {
	parsed, err := parseTerms(terms)
	if err != nil {
		return err
	}
	reg.mu.Lock()
	evs := applyLocked(parsed, nil)
	reg.mu.Unlock()
	notify(evs...)
	return eventsError(evs)
}

// eventsError joins the errors of evs (call sites that could not be
// switched).
func eventsError(evs []Event) error {
	var errs []error
	for i := range evs {
		errs = append(errs, evs[i].error())
	}
	return errors.Join(errs...)
}

// parseTerms validates every term.
func parseTerms(terms []string) ([]term, error) {
	parsed := make([]term, len(terms))
	for i, s := range terms {
		t, err := parseTerm(s)
		if err != nil {
			return nil, err
		}
		parsed[i] = t
	}
	return parsed, nil
}

// applyLocked applies validated terms in order, under one hold of reg.mu,
// and appends their events to evs.
func applyLocked(parsed []term, evs []Event) []Event {
	for _, t := range parsed {
		evs = append(evs, controlLocked(t.op, "", t.pattern, t.m))
	}
	return evs
}

// ParseTerms splits a startup specification, as found in DFLAG, into
// terms. Terms are separated by white space. A term is an operator (+, -, !
// or ?) followed by a pattern written either bare (it ends at the next white
// space) or as a Go string literal in double quotes or backquotes, so that
// any pattern can be written:
//
//	DFLAG='+request_tracing: -feature:new_parser !"legacy:.* shim" ?`a\.b`'
//
// ParseTerms validates every term and returns an error naming the first
// malformed one.
func ParseTerms(spec string) ([]string, error) {
	var terms []string
	for {
		spec = strings.TrimLeftFunc(spec, unicode.IsSpace)
		if spec == "" {
			return terms, nil
		}
		var t string
		if len(spec) > 1 && (spec[1] == '"' || spec[1] == '`') {
			lit, err := strconv.QuotedPrefix(spec[1:])
			if err != nil {
				return nil, &TermError{Term: firstField(spec), Err: errors.New("unterminated or invalid quoted pattern")}
			}
			rest := spec[1+len(lit):]
			if r, _ := utf8.DecodeRuneInString(rest); rest != "" && !unicode.IsSpace(r) {
				return nil, &TermError{Term: firstField(spec), Err: errors.New("quoted pattern must be followed by white space")}
			}
			p, _ := strconv.Unquote(lit) // QuotedPrefix accepted it
			t, spec = spec[:1]+p, rest
		} else {
			t = firstField(spec)
			spec = spec[len(t):]
		}
		if _, err := parseTerm(t); err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
}

func firstField(s string) string {
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		return s[:i]
	}
	return s
}

// ParseTermsFile reads terms from a file's contents: one specification (as
// for [ParseTerms]) per line, with blank lines and lines starting with '#'
// ignored.
func ParseTermsFile(data []byte) ([]string, error) {
	var terms []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		ts, err := ParseTerms(line)
		if err != nil {
			return nil, fmt.Errorf("dflag: line %d: %w", n, unprefixed{err})
		}
		terms = append(terms, ts...)
	}
	return terms, sc.Err()
}

// envTerms returns the terms of DFLAG_FILE, then those of DFLAG, and the
// source of each ("env:DFLAG_FILE" or "env:DFLAG").
func envTerms() (terms, sources []string, err error) {
	if name := os.Getenv("DFLAG_FILE"); name != "" {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, nil, fmt.Errorf("dflag: DFLAG_FILE: %w", err)
		}
		if terms, err = ParseTermsFile(data); err != nil {
			return nil, nil, fmt.Errorf("dflag: DFLAG_FILE %s: %w", name, unprefixed{err})
		}
		for range terms {
			sources = append(sources, "env:DFLAG_FILE")
		}
	}
	ts, err := ParseTerms(os.Getenv("DFLAG"))
	if err != nil {
		return nil, nil, fmt.Errorf("%w (in DFLAG)", err)
	}
	for range ts {
		sources = append(sources, "env:DFLAG")
	}
	return append(terms, ts...), sources, nil
}

// unprefixed wraps an error for a message that already says "dflag: ", so
// that the prefix appears once.
type unprefixed struct{ err error }

func (e unprefixed) Error() string { return strings.TrimPrefix(e.err.Error(), "dflag: ") }
func (e unprefixed) Unwrap() error { return e.err }

// startupTerm is a startup term that Init applied to a flag.
type startupTerm struct{ source, term string }

// recordStartupLocked remembers, on each flag a term matched, that Init
// applied it; reg.mu must be held.
func recordStartupLocked(parsed []term, terms, sources []string) {
	for i, t := range parsed {
		var buf [maxAlts][]*Flag
		for _, run := range candidates("", t.m, &buf) {
			for _, f := range run {
				if t.m.match(f.full) {
					f.startup = append(f.startup, startupTerm{sources[i], terms[i]})
				}
			}
		}
	}
}

// Terms is a [flag.Value] that applies startup terms given on a command
// line, so that a program can accept -dflag='+re' -dflag='!re':
//
//	flag.Var(new(dflag.Terms), "dflag", "dflag terms (+re, -re, !re, ?re)")
//
// Each Set parses its argument with [ParseTerms] and applies the terms at
// once; a malformed argument is reported by flag.Parse and changes nothing.
type Terms []string

// String returns the terms applied so far, separated by spaces.
func (t *Terms) String() string {
	if t == nil {
		return ""
	}
	return strings.Join(*t, " ")
}

// Set parses and applies one command-line argument. A term that matches no
// flag is applied (as the C library would) and logged with [slog.Warn],
// which by default writes to standard error.
func (t *Terms) Set(s string) error {
	ts, err := ParseTerms(s)
	if err != nil {
		return err
	}
	matched, err := ApplyMatched(ts...)
	for i, n := range matched {
		if n == 0 {
			slog.Warn("dflag: a command-line term matches no flag: check it for a typo", "term", ts[i])
		}
	}
	*t = append(*t, ts...)
	return err
}
