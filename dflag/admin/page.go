package admin

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strings"
)

//go:embed page.html
var pageHTML []byte

// pageCSP allows exactly the page's own inline script and style, and
// requests to its own origin.
var pageCSP = "default-src 'none'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"script-src " + inlineHash("script") + "; style-src " + inlineHash("style")

// inlineHash returns the CSP source expression for the content of the
// page's one element named tag.
func inlineHash(tag string) string {
	_, rest, ok := strings.Cut(string(pageHTML), "<"+tag+">")
	body, _, ok2 := strings.Cut(rest, "</"+tag+">")
	if !ok || !ok2 {
		panic("admin: page.html has no <" + tag + "> element")
	}
	sum := sha256.Sum256([]byte(body))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// page serves the console.
func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	noCache(w)
	w.Write(pageHTML)
}
