package middleware

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"go.opentelemetry.io/otel/trace"
)

// responseWriter records the status and size of a traced response. It
// implements http.Flusher, http.Hijacker and io.ReaderFrom by way of the
// writer it wraps, and Unwrap, so that http.ResponseController reaches the
// rest (deadlines, full duplex). Only traced requests get one.
type responseWriter struct {
	http.ResponseWriter
	span     trace.Span
	status   int   // final status, 0 until written
	written  int64 // body bytes
	hijacked bool
	flushes  int
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) implicit200() {
	if w.status == 0 && !w.hijacked {
		w.status = http.StatusOK
	}
}

// WriteHeader records the final status; informational (1xx) headers other
// than 101 Switching Protocols are passed on and not recorded.
func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && !w.hijacked && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the body bytes written.
func (w *responseWriter) Write(p []byte) (int, error) {
	w.implicit200()
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

// ReadFrom copies src to the response, through the wrapped writer's
// ReadFrom (sendfile) when it has one.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	w.implicit200()
	n, err := io.Copy(w.ResponseWriter, src)
	w.written += n
	return n, err
}

// Flush flushes the wrapped writer, if it can.
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError flushes the wrapped writer and returns its error, or
// [http.ErrNotSupported] if it cannot flush; http.ResponseController calls
// it.
func (w *responseWriter) FlushError() error {
	w.implicit200()
	err := http.NewResponseController(w.ResponseWriter).Flush()
	if err == nil {
		if w.flushes++; w.flushes == 1 {
			w.span.AddEvent("first flush")
		}
	}
	return err
}

// Hijack takes over the connection from the wrapped writer, or returns
// [http.ErrNotSupported]. The span records the hijack; the request stays
// traced until its handler returns.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
		w.span.AddEvent("connection hijacked")
	}
	return c, rw, err
}
