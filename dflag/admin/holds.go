package admin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"bounded.dev/dflag"
)

// MaxHoldTerms is the most terms one operator's console hold keeps; a
// change that would exceed it is refused with 413 (release the hold, or
// use broader patterns).
const MaxHoldTerms = 256

// OpRelease is the console's own operation: POST op=release gives back
// everything the operator's hold changed and retires it.
const OpRelease = "release"

// operatorHold is one operator's hold; mu serialises its read-modify-write.
type operatorHold struct {
	mu   sync.Mutex
	hold *dflag.Hold
}

// consoleHolds are the operators' holds, by owner name ("console:<who>"),
// shared by every console in the process: dflag allows one live hold per
// owner name, and one operator is one owner however many handlers serve
// them.
var consoleHolds struct {
	sync.Mutex
	m map[string]*operatorHold
}

func holdFor(owner string) *operatorHold {
	consoleHolds.Lock()
	defer consoleHolds.Unlock()
	if consoleHolds.m == nil {
		consoleHolds.m = make(map[string]*operatorHold)
	}
	oh := consoleHolds.m[owner]
	if oh == nil {
		oh = &operatorHold{}
		consoleHolds.m[owner] = oh
	}
	return oh
}

// defaultOperator names the operator of a request: "bearer" when it sent a
// bearer token, otherwise the client's IP address.
func defaultOperator(r *http.Request) string {
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ") {
		return "bearer"
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// owner returns the hold owner name of r's operator.
func (h *handler) owner(r *http.Request) string {
	who := strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return -1
		}
		return c
	}, h.operator(r))
	if who == "" {
		who = "unknown"
	}
	if len(who) > 128 {
		who = who[:128]
	}
	return "console:" + who
}

// applyHeld applies steps to the operator's hold: activate and deactivate
// first undo the operator's own opposite term, unhook adds "!re", and
// rehook removes the operator's own "!re" or, when it has none, rehooks
// with the C library's counts (an unhook from DFLAG, for example). All the
// hold's changes apply at once; a bad result changes nothing.
func (h *handler) applyHeld(owner string, steps []step) (Response, int, error) {
	oh := holdFor(owner)
	oh.mu.Lock()
	defer oh.mu.Unlock()
	var terms []string
	if oh.hold != nil {
		terms = oh.hold.Terms()
	}
	resp := Response{Owner: owner, Results: make([]Result, 0, len(steps))}
	var rehooks []string
	for _, s := range steps {
		if s.op == OpRelease {
			resp.add(s, heldFlags(terms))
			terms, rehooks = nil, nil
			continue
		}
		states, err := dflag.List(s.pattern)
		if err != nil {
			return Response{}, http.StatusBadRequest, err
		}
		resp.add(s, len(states))
		own := func(op byte) int { return slices.Index(terms, string(op)+s.pattern) }
		switch s.op {
		case dflag.OpActivate, dflag.OpDeactivate:
			this, opposite := byte('+'), byte('-')
			if s.op == dflag.OpDeactivate {
				this, opposite = '-', '+'
			}
			if i := own(opposite); i >= 0 {
				terms = slices.Delete(terms, i, i+1)
			} else if own(this) < 0 {
				terms = append(terms, string(this)+s.pattern)
			}
		case dflag.OpUnhook:
			if own('!') < 0 {
				terms = append(terms, "!"+s.pattern)
			}
		case dflag.OpRehook:
			if i := own('!'); i >= 0 {
				terms = slices.Delete(terms, i, i+1)
			} else {
				rehooks = append(rehooks, s.pattern)
			}
		}
	}
	if len(terms) > MaxHoldTerms {
		return Response{}, http.StatusRequestEntityTooLarge, fmt.Errorf("the hold %s would keep %d terms, over the limit of %d: release it (op=release) or use broader patterns", owner, len(terms), MaxHoldTerms)
	}
	var err error
	switch {
	case len(terms) == 0 && oh.hold != nil:
		err = oh.hold.Release()
		oh.hold = nil
	case len(terms) > 0:
		if oh.hold == nil {
			if oh.hold, err = dflag.NewHold(owner); err != nil {
				return Response{}, http.StatusConflict, err
			}
		}
		err = oh.hold.Replace(terms...)
	}
	if err != nil {
		if _, ok := errors.AsType[*dflag.SwitchError](err); !ok {
			return Response{}, http.StatusInternalServerError, err
		}
		resp.Warnings = append(resp.Warnings, err.Error())
	}
	for _, p := range rehooks {
		if _, err := dflag.Rehook(p); err != nil {
			return resp, http.StatusInternalServerError, err
		}
	}
	if oh.hold != nil {
		resp.Held = oh.hold.Terms()
	}
	return resp, 0, nil
}

// heldFlags counts the flags that terms match.
func heldFlags(terms []string) int {
	seen := map[string]bool{}
	for _, t := range terms {
		states, _ := dflag.List(t[1:])
		for _, st := range states {
			seen[st.Name] = true
		}
	}
	return len(seen)
}

// heldTerms returns the terms of owner's hold, or nil.
func heldTerms(owner string) []string {
	oh := holdFor(owner)
	oh.mu.Lock()
	defer oh.mu.Unlock()
	if oh.hold == nil {
		return nil
	}
	return oh.hold.Terms()
}
