package admin

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// wantsJSON reports whether the Accept header lists application/json with
// a non-zero quality.
func wantsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != "application/json" {
				continue
			}
			if q, ok := params["q"]; ok {
				if v, err := strconv.ParseFloat(q, 64); err != nil || v <= 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}

func noCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	noCache(w)
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// errorBody is the JSON form of an error.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers with a message: JSON for a POST or a client that
// accepts JSON, plain text otherwise.
func writeError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if r.Method == http.MethodPost || wantsJSON(r) {
		writeJSON(w, code, errorBody{msg})
		return
	}
	noCache(w)
	http.Error(w, msg, code)
}
