package middleware

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"github.com/felixge/httpsnoop"
	"go.opentelemetry.io/otel/trace"
)

// recorder records the status and size of a traced response, through the
// hooks of a writer made by httpsnoop.Wrap: that writer implements exactly
// the optional interfaces (http.Flusher, http.Hijacker, io.ReaderFrom,
// io.StringWriter, http.Pusher, the deadline and full-duplex methods that
// http.ResponseController calls, ...) that the server's writer implements,
// and Unwrap, so that a handler observes the same writer whether or not
// its request is traced. Only traced requests get one.
type recorder struct {
	span     trace.Span
	status   int   // final status, 0 until written
	written  int64 // body bytes
	hijacked bool
	flushes  int
}

// wrap returns w with rec's hooks.
func (rec *recorder) wrap(w http.ResponseWriter) http.ResponseWriter {
	return httpsnoop.Wrap(w, httpsnoop.Hooks{
		WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) {
				// Informational (1xx) headers other than 101 Switching
				// Protocols are passed on and not recorded.
				if rec.status == 0 && !rec.hijacked && (code >= 200 || code == http.StatusSwitchingProtocols) {
					rec.status = code
				}
				next(code)
			}
		},
		Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(p []byte) (int, error) {
				rec.implicit200()
				n, err := next(p)
				rec.written += int64(n)
				return n, err
			}
		},
		WriteString: func(next httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
			return func(s string) (int, error) {
				rec.implicit200()
				n, err := next(s)
				rec.written += int64(n)
				return n, err
			}
		},
		ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
			return func(src io.Reader) (int64, error) {
				rec.implicit200()
				n, err := next(src) // sendfile where the server's writer can
				rec.written += n
				return n, err
			}
		},
		Flush: func(next httpsnoop.FlushFunc) httpsnoop.FlushFunc {
			return func() {
				rec.implicit200()
				next()
				rec.flushed()
			}
		},
		FlushError: func(next httpsnoop.FlushErrorFunc) httpsnoop.FlushErrorFunc {
			return func() error {
				rec.implicit200()
				err := next()
				if err == nil {
					rec.flushed()
				}
				return err
			}
		},
		Hijack: func(next httpsnoop.HijackFunc) httpsnoop.HijackFunc {
			return func() (net.Conn, *bufio.ReadWriter, error) {
				c, brw, err := next()
				if err == nil {
					// The request stays traced until its handler returns.
					rec.hijacked = true
					rec.span.AddEvent("connection hijacked")
				}
				return c, brw, err
			}
		},
	})
}

func (rec *recorder) implicit200() {
	if rec.status == 0 && !rec.hijacked {
		rec.status = http.StatusOK
	}
}

func (rec *recorder) flushed() {
	if rec.flushes++; rec.flushes == 1 {
		rec.span.AddEvent("first flush")
	}
}
