package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bounded.dev/middleware"
)

// writerInterfaces lists the optional interfaces w implements.
func writerInterfaces(w http.ResponseWriter) []string {
	var got []string
	add := func(ok bool, name string) {
		if ok {
			got = append(got, name)
		}
	}
	_, ok := w.(http.Flusher)
	add(ok, "http.Flusher")
	_, ok = w.(interface{ FlushError() error })
	add(ok, "FlushError")
	_, ok = w.(http.Hijacker)
	add(ok, "http.Hijacker")
	_, ok = w.(io.ReaderFrom)
	add(ok, "io.ReaderFrom")
	_, ok = w.(io.StringWriter)
	add(ok, "io.StringWriter")
	_, ok = w.(http.Pusher)
	add(ok, "http.Pusher")
	_, ok = w.(http.CloseNotifier) //nolint:staticcheck // still part of what handlers can observe
	add(ok, "http.CloseNotifier")
	_, ok = w.(interface{ SetReadDeadline(time.Time) error })
	add(ok, "SetReadDeadline")
	_, ok = w.(interface{ SetWriteDeadline(time.Time) error })
	add(ok, "SetWriteDeadline")
	_, ok = w.(interface{ EnableFullDuplex() error })
	add(ok, "EnableFullDuplex")
	return got
}

// TestWriterInterfaces: over HTTP/2 (TLS) and HTTP/1.1, the writer a
// traced request's handler gets implements exactly the optional interfaces
// of an untraced request's writer (the server's own), so tracing changes
// nothing a handler can observe; and the traced span still records what
// was written through them (WriteString, ReadFrom).
func TestWriterInterfaces(t *testing.T) {
	for _, h2 := range []bool{true, false} {
		name := map[bool]string{true: "HTTP2", false: "HTTP1"}[h2]
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string][]string{} // query -> interfaces
			protos := map[string]int{}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /w", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen[r.URL.RawQuery] = writerInterfaces(w)
				protos[r.URL.RawQuery] = r.ProtoMajor
				mu.Unlock()
				io.WriteString(w, "abc")              // io.StringWriter where there is one
				io.Copy(w, strings.NewReader("defg")) // io.ReaderFrom where there is one
				http.NewResponseController(w).Flush() // FlushError
			})
			tp, exp := newProvider(t)
			srv := httptest.NewUnstartedServer(middleware.Tracing(mux, middleware.WithTracerProvider(tp)))
			if h2 {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			client := srv.Client()
			for _, q := range []string{"", "tracing=1"} {
				req, _ := http.NewRequest("GET", srv.URL+"/w?"+q, nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "abcdefg" {
					t.Fatalf("%q: body %q", q, body)
				}
				if traced := resp.Header.Get("Traceresponse") != ""; traced != (q != "") {
					t.Fatalf("%q: traced %v", q, traced)
				}
			}
			waitReleased(t)
			mu.Lock()
			defer mu.Unlock()
			wantProto := map[bool]int{true: 2, false: 1}[h2]
			if protos[""] != wantProto || protos["tracing=1"] != wantProto {
				t.Fatalf("protocols %v, want HTTP/%d", protos, wantProto)
			}
			plain, traced := seen[""], seen["tracing=1"]
			t.Logf("untraced: %v", plain)
			if !slices.Equal(plain, traced) {
				t.Fatalf("a traced request's writer implements %v, an untraced one's %v", traced, plain)
			}
			if h2 && slices.Contains(traced, "http.Hijacker") {
				t.Fatal("an HTTP/2 writer is an http.Hijacker")
			}
			if !h2 && !slices.Contains(traced, "http.Hijacker") {
				t.Fatal("an HTTP/1 writer is not an http.Hijacker")
			}
			spans := serverSpans(exp)
			if len(spans) != 1 {
				t.Fatalf("%d server spans", len(spans))
			}
			a := attrs(spans[0].Attributes)
			if a["http.response.status_code"] != int64(200) || a["http.response.body.size"] != int64(7) ||
				a["network.protocol.version"] != map[bool]string{true: "2", false: "1.1"}[h2] {
				t.Fatalf("span attributes %v", a)
			}
		})
	}
}

// TestWriterMinimal: a writer with no optional interface stays without
// one when traced (an httptest.ResponseRecorder has Flush only).
func TestWriterMinimal(t *testing.T) {
	var plain, traced []string
	h := middleware.Tracing(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			plain = writerInterfaces(w)
		} else {
			traced = writerInterfaces(w)
		}
	}))
	for _, target := range []string{"http://127.0.0.1/", "http://127.0.0.1/?tracing=1"} {
		r := httptest.NewRequest("GET", target, nil)
		r.RemoteAddr = "127.0.0.1:5000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
	}
	if !slices.Equal(plain, traced) || plain == nil {
		t.Fatalf("untraced %v, traced %v", plain, traced)
	}
}
