package admin_test

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"time"

	"bounded.dev/dflag/admin"
)

// Show the state of what switches flags besides the console, here a
// stand-in for a fleet bridge (bounded.dev/fleet's Bridge.Status), in the
// console's status panel and in GET /status. A status function that
// panics is reported as that status's error; the rest is served.
func ExampleWithStatus() {
	lost := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := lost.Add(12500 * time.Millisecond)
	h := admin.Handler(
		admin.WithLogger(slog.New(slog.DiscardHandler)),
		admin.WithStatus("fleet", func() any {
			return struct {
				Connected bool    `json:"connected"`
				Age       float64 `json:"age_seconds"`
				LastError string  `json:"last_error,omitempty"`
				Keys      int     `json:"keys"`
			}{false, now.Sub(lost).Seconds(), "etcd unreachable", 2}
		}),
		admin.WithStatus("probe", func() any { panic("probe crashed") }),
	)

	// curl -H 'Accept: application/json' localhost:8080/debug/dflag/status
	r := httptest.NewRequest("GET", "http://127.0.0.1:8080/status", nil)
	r.RemoteAddr = "127.0.0.1:51000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body)
	// Output:
	// 200 {"status":{"fleet":{"connected":false,"age_seconds":12.5,"last_error":"etcd unreachable","keys":2}},"errors":{"probe":"status \"probe\": panic: probe crashed"}}
}
