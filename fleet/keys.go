package fleet

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"bounded.dev/dflag"
)

// key is the bridge's state for one etcd key.
type key struct {
	h      holder   // nil until a valid value was in force
	value  string   // the value in force (valid)
	terms  []string // its terms
	modRev int64    // etcd ModRevision of the value in force or refused

	refused string // the last refused value, if the latest value was refused
	err     error  // why it was refused
}

// ValueError reports a key's value that the bridge refused: the key's last
// valid terms stay in force.
type ValueError struct {
	Key   string
	Value string
	Err   error
}

func (e *ValueError) Error() string {
	v := e.Value
	if len(v) > 80 {
		v = v[:77] + "..."
	}
	return fmt.Sprintf("fleet: etcd key %s = %q refused: %s", e.Key, v, strings.Replace(e.Err.Error(), "dflag: ", "", 1))
}

func (e *ValueError) Unwrap() error { return e.Err }

// errMatchAll is wrapped by a refusal of a term that switches every flag.
var errMatchAll = errors.New("matches every flag")

// parseValue reads a key's value: terms in the startup syntax, as in
// DFLAG or, one specification per line with # comments, DFLAG_FILE. It
// refuses a term that matches every flag unless allowAll, and rehook terms
// (a fleet key cannot take away another owner's unhook).
func parseValue(value string, allowAll bool) ([]string, error) {
	terms, err := dflag.ParseTermsFile([]byte(value))
	if err != nil {
		return nil, err
	}
	for _, t := range terms {
		if t[0] == '?' {
			return nil, fmt.Errorf("term %q: a fleet key cannot rehook (?): that would take away another owner's unhook; delete the key that unhooks instead", t)
		}
		if !allowAll && matchesAll(t[1:]) {
			return nil, fmt.Errorf("term %q %w; refused unless fleet.Config.AllowMatchAll (-etcd-allow-match-all) is set", t, errMatchAll)
		}
	}
	return terms, nil
}

// matchesAll reports whether pattern, anchored at the start of a name as
// dflag anchors it, matches every name: exactly when it matches the empty
// string.
func matchesAll(pattern string) bool {
	anchored := pattern
	if !strings.HasPrefix(pattern, "^") {
		anchored = "^(" + pattern + ")"
	}
	re, err := regexp.CompilePOSIX(anchored)
	if err != nil {
		return false // dflag validated it; unreachable
	}
	return re.MatchString("")
}

// owner is the hold owner name of an etcd key.
func owner(k string) string { return "etcd:" + k }

// put brings key k to value. It reports whether anything changed.
func (b *Bridge) put(k, value string, modRev int64) bool {
	cur := b.keys[k]
	if cur != nil && cur.h != nil && cur.err == nil && cur.value == value {
		b.mu.Lock()
		cur.modRev = modRev
		b.mu.Unlock()
		return false // the same value again: nothing to do
	}
	if cur != nil && cur.err != nil && cur.refused == value {
		return false // the same refused value again: already reported
	}
	terms, err := parseValue(value, b.cfg.AllowMatchAll)
	if err != nil {
		return b.refuse(k, value, modRev, err)
	}
	h := (holder)(nil)
	if cur != nil {
		h = cur.h
	}
	fresh := h == nil
	if fresh {
		if h, err = newHold(owner(k)); err != nil {
			return b.refuse(k, value, modRev, err)
		}
	}
	if err := h.Replace(terms...); err != nil {
		var se *dflag.SwitchError
		if !errors.As(err, &se) {
			if fresh {
				h.Release()
			}
			return b.refuse(k, value, modRev, err)
		}
		// The terms are in force; some call sites kept their instruction
		// (and so run exactly when their flag says).
		b.log.Warn("fleet: etcd key "+k+": "+err.Error(), "key", k)
	}
	b.mu.Lock()
	b.keys[k] = &key{h: h, value: value, terms: terms, modRev: modRev}
	b.mu.Unlock()
	b.log.Info("fleet: etcd key in force", "key", k, "owner", owner(k), "terms", strings.Join(terms, " "), "revision", modRev)
	b.saveState()
	return true
}

// refuse records and reports a refused value; the key's last valid terms
// stay in force.
func (b *Bridge) refuse(k, value string, modRev int64, err error) bool {
	verr := &ValueError{Key: k, Value: value, Err: err}
	b.mu.Lock()
	cur := b.keys[k]
	if cur == nil {
		cur = &key{}
		b.keys[k] = cur
	}
	cur.refused, cur.err, cur.modRev = value, verr, modRev
	keeps := slices.Clone(cur.terms)
	held := cur.h != nil
	b.mu.Unlock()
	b.metrics.refused(b.ctx)
	if held {
		b.log.Error(verr.Error(), "key", k, "kept", strings.Join(keeps, " "))
	} else {
		b.log.Error(verr.Error(), "key", k, "kept", "(nothing: no valid value yet)")
	}
	return false
}

// del releases key k's hold. It reports whether anything changed.
func (b *Bridge) del(k string) bool {
	cur := b.keys[k]
	if cur == nil {
		return false
	}
	var err error
	if cur.h != nil {
		err = cur.h.Release()
	}
	b.mu.Lock()
	delete(b.keys, k)
	b.mu.Unlock()
	if err != nil {
		b.log.Error("fleet: releasing etcd key "+k+": "+err.Error(), "key", k)
	}
	if cur.h != nil {
		b.log.Info("fleet: etcd key released", "key", k, "owner", owner(k))
		b.saveState()
		return true
	}
	return false
}

// converge makes the keys in force exactly those of a full read of the
// prefix: new and changed keys are applied, keys gone are released.
func (b *Bridge) converge(kvs map[string]kv) (changed int) {
	for k, v := range kvs {
		if b.put(k, v.value, v.modRev) {
			changed++
		}
	}
	for _, k := range b.keyNames() {
		if _, ok := kvs[k]; !ok {
			if b.del(k) {
				changed++
			}
		}
	}
	return changed
}

type kv struct {
	value  string
	modRev int64
}

func (b *Bridge) keyNames() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	names := make([]string, 0, len(b.keys))
	for k := range b.keys {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// releaseAll releases every hold (at Close).
func (b *Bridge) releaseAll() error {
	var errs []error
	for _, k := range b.keyNames() {
		cur := b.keys[k]
		if cur.h != nil {
			if err := cur.h.Release(); err != nil {
				errs = append(errs, fmt.Errorf("fleet: releasing etcd key %s: %w", k, err))
			}
		}
		b.mu.Lock()
		delete(b.keys, k)
		b.mu.Unlock()
	}
	return errors.Join(errs...)
}
