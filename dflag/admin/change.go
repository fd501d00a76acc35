package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"bounded.dev/dflag"
)

// Result is one applied operation in the JSON answer to a POST.
type Result struct {
	Op      string `json:"op"`      // activate, deactivate, unhook or rehook
	Pattern string `json:"pattern"` // the pattern as given
	Matched int    `json:"matched"` // flags that matched
}

// Response is the JSON answer to a successful POST {prefix}/flags.
type Response struct {
	DryRun   bool     `json:"dry_run,omitempty"`  // nothing was applied: Matched counts what would match
	Owner    string   `json:"owner,omitempty"`    // the operator's hold, "console:<who>" (unless WithCounts)
	Held     []string `json:"held,omitempty"`     // the terms the operator's hold keeps after this change
	Matched  int      `json:"matched"`            // flags matched, summed over Results
	Results  []Result `json:"results"`            // one per operation, in order
	Warnings []string `json:"warnings,omitempty"` // one per operation that matched no flag
}

// step is one validated operation.
type step struct {
	op      dflag.Op
	pattern string
	name    string // the record's full name when it selects exactly one
}

// exactPattern returns the pattern that matches exactly the record whose
// full name is name.
func exactPattern(name string) string { return "^" + regexp.QuoteMeta(name) + "$" }

var ops = map[dflag.Op]func(string) (int, error){
	dflag.OpActivate:   dflag.Activate,
	dflag.OpDeactivate: dflag.Deactivate,
	dflag.OpUnhook:     dflag.Unhook,
	dflag.OpRehook:     dflag.Rehook,
}

var termOps = map[byte]dflag.Op{
	'+': dflag.OpActivate, '-': dflag.OpDeactivate, '!': dflag.OpUnhook, '?': dflag.OpRehook,
}

// change serves POST /flags.
func (h *handler) change(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
	steps, dry, code, err := h.parseChange(r)
	if err != nil {
		h.refuse(w, r, code, err.Error())
		return
	}
	if dry {
		h.dryRun(w, r, steps)
		return
	}
	for _, s := range steps {
		if s.name != "" {
			if states, _ := dflag.List(s.pattern); len(states) != 1 {
				h.refuse(w, r, http.StatusNotFound, fmt.Sprintf("no flag record named %q (give kind:name@file:line exactly as listed)", s.name))
				return
			}
		}
	}
	if h.limiter != nil && !h.limiter.TakeN(len(steps)) {
		h.refuse(w, r, http.StatusTooManyRequests, fmt.Sprintf("too many changes: rate limit exceeded (this request applies %d terms)", len(steps)))
		return
	}
	var resp Response
	if h.counts {
		resp.Results = make([]Result, 0, len(steps))
		for _, s := range steps {
			// Every pattern was validated: the control functions cannot fail.
			n, err := ops[s.op](s.pattern)
			if err != nil {
				h.refuse(w, r, http.StatusInternalServerError, err.Error())
				return
			}
			resp.add(s, n)
		}
	} else {
		var code int
		if resp, code, err = h.applyHeld(h.owner(r), steps); err != nil {
			h.refuse(w, r, code, err.Error())
			return
		}
	}
	h.logChange(r, resp)
	h.hist.add(Change{Time: h.now(), Who: h.who(r), Results: resp.Results, Matched: resp.Matched, Warnings: resp.Warnings})
	writeJSON(w, http.StatusOK, resp)
}

// add records that step s matched n flags.
func (resp *Response) add(s step, n int) {
	pattern := s.pattern
	if s.name != "" {
		pattern = s.name
	}
	resp.Matched += n
	resp.Results = append(resp.Results, Result{Op: string(s.op), Pattern: pattern, Matched: n})
	if n == 0 && s.op == OpRelease {
		resp.Warnings = append(resp.Warnings, "release: the operator's hold held no flag")
	} else if n == 0 {
		resp.Warnings = append(resp.Warnings, fmt.Sprintf("%s %q matched no flag", s.op, pattern))
	}
}

// dryRun answers how many flags each step would match, changing nothing.
// It costs a listing, not a change.
func (h *handler) dryRun(w http.ResponseWriter, r *http.Request, steps []step) {
	if !h.takeListing(w, r) {
		return
	}
	resp := Response{DryRun: true, Results: make([]Result, 0, len(steps))}
	for _, s := range steps {
		if s.op == OpRelease {
			resp.add(s, heldFlags(heldTerms(h.owner(r))))
			continue
		}
		states, err := dflag.List(s.pattern)
		if err != nil {
			h.refuse(w, r, http.StatusBadRequest, err.Error())
			return
		}
		resp.add(s, len(states))
	}
	writeJSON(w, http.StatusOK, resp)
}

// logChange logs an applied request once, whatever its number of terms.
func (h *handler) logChange(r *http.Request, resp Response) {
	var terms strings.Builder
	for i, res := range resp.Results {
		if i > 0 {
			terms.WriteByte(' ')
		}
		if terms.Len() > 512 {
			terms.WriteString("...")
			break
		}
		if res.Op == OpRelease {
			fmt.Fprintf(&terms, "release=%d", res.Matched)
		} else {
			fmt.Fprintf(&terms, "%c%s=%d", opChar(dflag.Op(res.Op)), res.Pattern, res.Matched)
		}
	}
	level := slog.LevelInfo
	if len(resp.Warnings) > 0 {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.String("remote", r.RemoteAddr)}
	if resp.Owner != "" {
		attrs = append(attrs, slog.String("owner", resp.Owner))
	}
	h.logger.LogAttrs(r.Context(), level, "dflag admin: change", append(attrs, slog.Int("terms", len(resp.Results)),
		slog.Int("matched", resp.Matched), slog.String("applied", terms.String()),
		slog.Int("unmatched", len(resp.Warnings)))...)
}

// who names the client of a change for the history: its hold's owner
// and its address.
func (h *handler) who(r *http.Request) string {
	if h.counts {
		return r.RemoteAddr
	}
	return h.owner(r) + " (" + r.RemoteAddr + ")"
}

func opChar(op dflag.Op) byte {
	for c, o := range termOps {
		if o == op {
			return c
		}
	}
	return '?'
}

// parseChange reads and validates a POST body into operations, or returns
// the status and error that refuse it.
func (h *handler) parseChange(r *http.Request) (steps []step, dry bool, code int, err error) {
	steps, code, err = h.parseForm(r)
	if err == nil {
		switch v := r.PostForm.Get("dry_run"); v {
		case "", "0", "false":
		case "1", "true":
			dry = true
		default:
			return nil, false, http.StatusBadRequest, fmt.Errorf("dry_run=%q: want 1 or 0", v)
		}
	}
	return steps, dry, code, err
}

func (h *handler) parseForm(r *http.Request) ([]step, int, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, http.StatusUnsupportedMediaType, errors.New("body must be application/x-www-form-urlencoded")
		}
	}
	if err := r.ParseForm(); err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", mbe.Limit)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("malformed form: %v", err)
	}
	f := r.PostForm
	for k, v := range f {
		switch k {
		case "op", "pattern", "spec", "name", "dry_run":
			if len(v) != 1 {
				return nil, http.StatusBadRequest, fmt.Errorf("field %q given %d times", k, len(v))
			}
		default:
			return nil, http.StatusBadRequest, fmt.Errorf("unknown field %q (want op and pattern, op and name, or spec)", k)
		}
	}
	_, hasOp := f["op"]
	_, hasPattern := f["pattern"]
	name, hasName := f["name"]
	spec, hasSpec := f["spec"]
	switch {
	case hasSpec && (hasOp || hasPattern || hasName):
		return nil, http.StatusBadRequest, errors.New("give either op and pattern, op and name, or spec, not several")
	case hasName && hasPattern:
		return nil, http.StatusBadRequest, errors.New("give either a pattern or the name of one record, not both")
	case hasSpec:
		// Count before parsing: a flood is refused before any of its
		// patterns is compiled.
		if n := countTerms(spec[0]); n > h.maxTerms {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("spec has %d terms; at most %d apply per request", n, h.maxTerms)
		}
		terms, err := dflag.ParseTerms(spec[0])
		if err != nil {
			return nil, http.StatusBadRequest, err
		}
		if len(terms) == 0 {
			return nil, http.StatusBadRequest, errors.New("empty spec")
		}
		if len(terms) > h.maxTerms {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("spec has %d terms; at most %d apply per request", len(terms), h.maxTerms)
		}
		steps := make([]step, len(terms))
		for i, t := range terms {
			steps[i] = step{op: termOps[t[0]], pattern: t[1:]}
		}
		return steps, 0, nil
	case !hasOp:
		return nil, http.StatusBadRequest, errors.New("missing field op (activate, deactivate, unhook or rehook) or spec")
	case !hasPattern && !hasName && f.Get("op") != OpRelease:
		return nil, http.StatusBadRequest, errors.New(`missing field pattern (use "pattern=" to select every flag)`)
	}
	op := dflag.Op(f.Get("op"))
	if op == OpRelease && !h.counts {
		if hasName || hasPattern {
			return nil, http.StatusBadRequest, errors.New("op=release takes no pattern or name: it releases the whole of the operator's hold")
		}
		return []step{{op: OpRelease}}, 0, nil
	}
	if ops[op] == nil {
		return nil, http.StatusBadRequest, fmt.Errorf("unknown op %q (want activate, deactivate, unhook, rehook or release)", op)
	}
	if hasName {
		if name[0] == "" || strings.ContainsAny(name[0], "\x00\n") {
			return nil, http.StatusBadRequest, errors.New("name must be a record's full name, kind:name@file:line")
		}
		p := exactPattern(name[0])
		if err := dflag.ValidPattern(p); err != nil {
			return nil, http.StatusBadRequest, err
		}
		return []step{{op: op, pattern: p, name: name[0]}}, 0, nil
	}
	pattern := f.Get("pattern")
	if err := dflag.ValidPattern(pattern); err != nil {
		return nil, http.StatusBadRequest, err
	}
	return []step{{op: op, pattern: pattern}}, 0, nil
}

// countTerms counts the terms of a spec as dflag.ParseTerms splits them
// (an operator, then a bare pattern up to white space or a quoted one),
// without compiling anything; on malformed input it may count differently
// from ParseTerms, which then refuses the spec.
func countTerms(spec string) int {
	n := 0
	for i := 0; i < len(spec); {
		if c := spec[i]; c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' {
			i++
			continue
		}
		n++
		i++ // the operator
		switch {
		case i < len(spec) && spec[i] == '"':
			for i++; i < len(spec) && spec[i] != '"'; i++ {
				if spec[i] == '\\' {
					i++
				}
			}
			i++
		case i < len(spec) && spec[i] == '`':
			for i++; i < len(spec) && spec[i] != '`'; i++ {
			}
			i++
		default:
			for i < len(spec) && !strings.ContainsRune(" \t\n\r\v\f", rune(spec[i])) {
				i++
			}
		}
	}
	return n
}
