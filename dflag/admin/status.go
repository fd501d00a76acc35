package admin

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode"
)

// StatusTimeout is how long GET {prefix}/status waits for a status
// function given to [WithStatus]; one that has not answered by then is
// reported as an error, and is not called again until it returns.
const StatusTimeout = time.Second

// MaxStatusBytes is the largest JSON encoding of one status value that the
// console serves; a larger one is reported as an error.
const MaxStatusBytes = 16 << 10

// maxStatusName bounds a status name's length in bytes.
const maxStatusName = 64

// WithStatus adds a status to the console: the value fn returns is served,
// encoded as JSON, under name in GET {prefix}/status, and the page shows it
// in its status panel, refreshed with the listing. It is meant for the
// state of what switches flags besides the console, such as a fleet
// bridge's connection and the age of its last sync. As with
// [expvar.Func], fn is called on every read, so it should be quick and safe
// for concurrent use; the console calls it at most once at a time, gives
// it [StatusTimeout] to answer, and reports a panic, a value that does not
// encode, one over [MaxStatusBytes] or a timeout as that status's error
// (logged once when it starts and once when it ends) instead of failing
// the request. Handler panics if name is empty, longer than 64 bytes, has
// control characters or was given twice, or if fn is nil.
func WithStatus(name string, fn func() any) Option {
	return func(c *config) {
		switch {
		case fn == nil:
			c.fail(fmt.Errorf("WithStatus(%q): nil function", name))
			return
		case name == "" || len(name) > maxStatusName:
			c.fail(fmt.Errorf("WithStatus(%q): a status name has 1 to %d bytes", name, maxStatusName))
			return
		}
		for _, r := range name {
			if unicode.IsControl(r) || r == unicode.ReplacementChar {
				c.fail(fmt.Errorf("WithStatus(%q): a status name is printable UTF-8", name))
				return
			}
		}
		for _, s := range c.statuses {
			if s.name == name {
				c.fail(fmt.Errorf("WithStatus(%q): name given twice", name))
				return
			}
		}
		c.statuses = append(c.statuses, &statusSource{name: name, fn: fn})
	}
}

// Statuses is the JSON form of GET {prefix}/status: each [WithStatus]
// value that answered, by name, and the error of each that did not.
type Statuses struct {
	Status map[string]json.RawMessage `json:"status"`           // never null
	Errors map[string]string          `json:"errors,omitempty"` // why a status has no value
}

// statusSource is one WithStatus function, with its call in flight.
type statusSource struct {
	name string
	fn   func() any

	mu      sync.Mutex
	call    *statusCall // in flight; nil if none
	failing bool        // its last answer was an error (logged)
}

type statusCall struct {
	start time.Time
	done  chan struct{}
	val   json.RawMessage
	err   error
}

// read returns the source's value, waiting at most timeout for it. A call
// still in flight from an earlier read is waited for, not repeated, so a
// function that hangs costs one goroutine, not one per request.
func (s *statusSource) read(timeout time.Duration) (json.RawMessage, error) {
	s.mu.Lock()
	c := s.call
	if c == nil {
		c = &statusCall{start: time.Now(), done: make(chan struct{})}
		s.call = c
		go func() {
			c.val, c.err = s.run()
			s.mu.Lock()
			s.call = nil
			s.mu.Unlock()
			close(c.done)
		}()
	}
	s.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
		return c.val, c.err
	case <-t.C:
		return nil, fmt.Errorf("no answer after %v (called %v ago)", timeout, time.Since(c.start).Round(time.Millisecond))
	}
}

// run calls the function and encodes its value; a panic is an error.
func (s *statusSource) run() (val json.RawMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			val, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	b, err := json.Marshal(s.fn())
	switch {
	case err != nil:
		return nil, fmt.Errorf("value does not encode as JSON: %v", err)
	case len(b) > MaxStatusBytes:
		return nil, fmt.Errorf("value is %d bytes of JSON, over the limit of %d", len(b), MaxStatusBytes)
	}
	return b, nil
}

// note logs a status's error when it starts failing and when it answers
// again, not on every read.
func (s *statusSource) note(logger *slog.Logger, err error) {
	s.mu.Lock()
	was := s.failing
	s.failing = err != nil
	s.mu.Unlock()
	switch {
	case err != nil && !was:
		logger.Warn("dflag admin: status failed; the console shows the error until it answers", "status", s.name, "err", err)
	case err == nil && was:
		logger.Info("dflag admin: status answers again", "status", s.name)
	}
}

// statuses reads every source at once.
func (h *handler) statuses() Statuses {
	out := Statuses{Status: make(map[string]json.RawMessage, len(h.config.statuses))}
	vals := make([]json.RawMessage, len(h.config.statuses))
	errs := make([]error, len(h.config.statuses))
	var wg sync.WaitGroup
	for i, s := range h.config.statuses {
		wg.Go(func() { vals[i], errs[i] = s.read(h.statusTimeout) })
	}
	wg.Wait()
	for i, s := range h.config.statuses {
		s.note(h.logger, errs[i])
		if errs[i] != nil {
			if out.Errors == nil {
				out.Errors = map[string]string{}
			}
			out.Errors[s.name] = fmt.Sprintf("status %q: %v", s.name, errs[i])
			continue
		}
		out.Status[s.name] = vals[i]
	}
	return out
}

// serveStatus serves GET /status.
func (h *handler) serveStatus(w http.ResponseWriter, r *http.Request) {
	if !h.takeListing(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, h.statuses())
}
