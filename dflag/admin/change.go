package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
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
	Matched  int      `json:"matched"`            // flags matched, summed over Results
	Results  []Result `json:"results"`            // one per operation, in order
	Warnings []string `json:"warnings,omitempty"` // one per operation that matched no flag
}

// step is one validated operation.
type step struct {
	op      dflag.Op
	pattern string
}

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
	steps, code, err := h.parseChange(r)
	if err != nil {
		h.refuse(w, r, code, err.Error())
		return
	}
	if h.limiter != nil && !h.limiter.TakeN(len(steps)) {
		h.refuse(w, r, http.StatusTooManyRequests, fmt.Sprintf("too many changes: rate limit exceeded (this request applies %d terms)", len(steps)))
		return
	}
	resp := Response{Results: make([]Result, 0, len(steps))}
	for _, s := range steps {
		// Every pattern was validated: the control functions cannot fail.
		n, err := ops[s.op](s.pattern)
		if err != nil {
			h.refuse(w, r, http.StatusInternalServerError, err.Error())
			return
		}
		resp.Matched += n
		resp.Results = append(resp.Results, Result{Op: string(s.op), Pattern: s.pattern, Matched: n})
		if n == 0 {
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("%s %q matched no flag", s.op, s.pattern))
		}
	}
	h.logChange(r, resp)
	h.hist.add(Change{Time: h.now(), Who: who(r), Results: resp.Results, Matched: resp.Matched, Warnings: resp.Warnings})
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
		fmt.Fprintf(&terms, "%c%s=%d", opChar(dflag.Op(res.Op)), res.Pattern, res.Matched)
	}
	level := slog.LevelInfo
	if len(resp.Warnings) > 0 {
		level = slog.LevelWarn
	}
	h.logger.LogAttrs(r.Context(), level, "dflag admin: change",
		slog.String("remote", r.RemoteAddr), slog.Int("terms", len(resp.Results)),
		slog.Int("matched", resp.Matched), slog.String("applied", terms.String()),
		slog.Int("unmatched", len(resp.Warnings)))
}

// who names the client of a change for the history.
func who(r *http.Request) string {
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ") {
		return r.RemoteAddr + " (bearer)"
	}
	return r.RemoteAddr
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
func (h *handler) parseChange(r *http.Request) ([]step, int, error) {
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
		case "op", "pattern", "spec":
			if len(v) != 1 {
				return nil, http.StatusBadRequest, fmt.Errorf("field %q given %d times", k, len(v))
			}
		default:
			return nil, http.StatusBadRequest, fmt.Errorf("unknown field %q (want op and pattern, or spec)", k)
		}
	}
	_, hasOp := f["op"]
	_, hasPattern := f["pattern"]
	spec, hasSpec := f["spec"]
	switch {
	case hasSpec && (hasOp || hasPattern):
		return nil, http.StatusBadRequest, errors.New("give either op and pattern, or spec, not both")
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
			steps[i] = step{termOps[t[0]], t[1:]}
		}
		return steps, 0, nil
	case !hasOp:
		return nil, http.StatusBadRequest, errors.New("missing field op (activate, deactivate, unhook or rehook) or spec")
	case !hasPattern:
		return nil, http.StatusBadRequest, errors.New(`missing field pattern (use "pattern=" to select every flag)`)
	}
	op := dflag.Op(f.Get("op"))
	if ops[op] == nil {
		return nil, http.StatusBadRequest, fmt.Errorf("unknown op %q (want activate, deactivate, unhook or rehook)", op)
	}
	pattern := f.Get("pattern")
	if err := dflag.ValidPattern(pattern); err != nil {
		return nil, http.StatusBadRequest, err
	}
	return []step{{op, pattern}}, 0, nil
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
