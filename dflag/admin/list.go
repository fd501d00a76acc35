package admin

import (
	"bytes"
	"fmt"
	"net/http"

	"bounded.dev/dflag"
)

// Flag is one flag record as the console reports it in JSON, by GET
// {prefix}/flags and by [Expvar].
type Flag struct {
	Name       string  `json:"name"`           // kind:name@file:line
	Kind       string  `json:"kind"`           // the kind
	Flag       string  `json:"flag"`           // the name within the kind
	Doc        string  `json:"doc"`            // docstring
	File       string  `json:"file"`           // import-path-qualified source file
	Line       int     `json:"line"`           // source line
	Mode       string  `json:"mode"`           // "feature", "default" or "opt"
	On         bool    `json:"on"`             // current value
	Activation uint64  `json:"activation"`     // activation count
	Unhook     uint64  `json:"unhook"`         // unhook count
	Site       string  `json:"site"`           // "hook" or "call"
	Addr       string  `json:"addr,omitempty"` // hexadecimal address of a call site
	Owners     []Owner `json:"owners"`         // who holds the flag, sorted by name; never null
}

// Owner is one named contributor to a flag's state: an operator's console
// hold ("console:127.0.0.1"), a kind hold ("kind:request_tracing", held by
// traced requests and phases), another program hold ("etcd:/dflag/...") or
// the startup terms ("env:DFLAG", Once).
type Owner struct {
	Name  string   `json:"name"`           // the owner
	Terms []string `json:"terms"`          // its terms that match the flag, such as "+breaker:" or "-breaker:recs@"
	Once  bool     `json:"once,omitempty"` // applied once to the counts at Init, not held
}

// flags converts a listing; it is never nil, so that it encodes as [].
func flags(states []dflag.State) []Flag {
	out := make([]Flag, len(states))
	for i, s := range states {
		out[i] = Flag{
			Name: s.Name, Kind: s.Kind, Flag: s.Flag, Doc: s.Doc, File: s.File, Line: s.Line,
			Mode: s.Mode.String(), On: s.On, Activation: s.Activation, Unhook: s.Unhook, Site: "hook",
			Owners: make([]Owner, len(s.Owners)),
		}
		for j, o := range s.Owners {
			out[i].Owners[j] = Owner{Name: o.Name, Terms: o.Terms, Once: o.Once}
		}
		if s.CallSite() {
			out[i].Site = "call"
			out[i].Addr = fmt.Sprintf("%#x", s.Addr)
		}
	}
	return out
}

// takeListing charges a listing against its limit, or answers 429.
func (h *handler) takeListing(w http.ResponseWriter, r *http.Request) bool {
	if h.lister != nil && !h.lister.Take() {
		h.refuse(w, r, http.StatusTooManyRequests, "too many listings: rate limit exceeded")
		return false
	}
	return true
}

// list serves GET /flags.
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	if !h.takeListing(w, r) {
		return
	}
	pattern := r.URL.Query().Get("pattern")
	// dflag bounds a pattern's size and cost before it compiles anything.
	if err := dflag.ValidPattern(pattern); err != nil {
		h.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if wantsJSON(r) {
		states, err := dflag.List(pattern)
		if err != nil {
			h.refuse(w, r, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, flags(states))
		return
	}
	var buf bytes.Buffer
	if err := dflag.WriteList(&buf, pattern); err != nil {
		h.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	noCache(w)
	w.Write(buf.Bytes())
}
