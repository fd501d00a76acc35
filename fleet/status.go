package fleet

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Status is a snapshot of the bridge's state, as [Bridge.Status] and
// [Bridge.ServeHTTP] report it.
type Status struct {
	Prefix    string `json:"prefix"`
	Connected bool   `json:"connected"`
	// LastSync is when the state in force was last known to match etcd:
	// now while connected, the moment the connection was lost otherwise,
	// zero if etcd was never read.
	LastSync time.Time `json:"last_sync"`
	// Age is how stale the state may be: zero while connected.
	Age time.Duration `json:"age_ns"`
	// Revision is the etcd revision the state is at.
	Revision int64 `json:"revision"`
	// FromFile is true while the state in force was read from the state
	// file and etcd was not reached since the start.
	FromFile  bool        `json:"from_file,omitempty"`
	LastError string      `json:"last_error,omitempty"`
	Keys      []KeyStatus `json:"keys"`
}

// KeyStatus is one etcd key's state.
type KeyStatus struct {
	Key      string   `json:"key"`
	Owner    string   `json:"owner"`             // the hold's owner name
	Terms    []string `json:"terms"`             // the terms in force (none if refused from the start)
	Revision int64    `json:"revision"`          // ModRevision of the last value seen
	Refused  string   `json:"refused,omitempty"` // the latest value, if it was refused
	Error    string   `json:"error,omitempty"`   // why it was refused
}

// Status returns the bridge's state. On a nil *Bridge it is the zero
// Status.
func (b *Bridge) Status() Status {
	if b == nil {
		return Status{}
	}
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	st := Status{
		Prefix:    b.r.prefix,
		Connected: b.connected,
		LastSync:  b.syncedAt,
		Revision:  b.rev,
		FromFile:  b.fromFile,
		Keys:      make([]KeyStatus, 0, len(b.keys)),
	}
	if b.connected {
		st.LastSync = now
	} else if !st.LastSync.IsZero() {
		st.Age = now.Sub(st.LastSync)
	}
	if b.lastErr != nil {
		st.LastError = b.lastErr.Error()
	}
	for k, v := range b.keys {
		ks := KeyStatus{Key: k, Owner: owner(k), Terms: slices.Clone(v.terms), Revision: v.modRev}
		if ks.Terms == nil {
			ks.Terms = []string{}
		}
		if v.err != nil {
			ks.Refused, ks.Error = v.refused, v.err.Error()
		}
		st.Keys = append(st.Keys, ks)
	}
	slices.SortFunc(st.Keys, func(a, b KeyStatus) int {
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	return st
}

// Connected reports whether the bridge is following etcd now.
func (b *Bridge) Connected() bool { return b.Status().Connected }

// Age returns how stale the state in force may be: zero while connected,
// the time since the connection was lost otherwise.
func (b *Bridge) Age() time.Duration { return b.Status().Age }

// ServeHTTP writes [Bridge.Status] as JSON, for an operator console or a
// health check. It changes nothing; mount it behind the same guard as
// other operator endpoints.
func (b *Bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "fleet: status is read-only", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(b.Status())
}

// metrics are the bridge's OpenTelemetry instruments:
//
//	dflag.fleet.connected  gauge, 1 while following etcd, else 0
//	dflag.fleet.sync.age   gauge (s), how stale the state may be
//	dflag.fleet.keys       gauge, keys under the prefix the bridge knows
//	dflag.fleet.refused    counter, values refused
type metrics struct {
	reg         metric.Registration
	refusedCtr  metric.Int64Counter
	prefixAttrs metric.MeasurementOption
}

func newMetrics(b *Bridge) (*metrics, error) {
	mp := b.cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter("bounded.dev/fleet")
	var err error
	var x metrics
	x.prefixAttrs = metric.WithAttributes(prefixAttr(b.r.prefix))
	connected, err := m.Int64ObservableGauge("dflag.fleet.connected",
		metric.WithDescription("1 while the fleet bridge follows etcd, 0 while it keeps the last state"))
	if err != nil {
		return nil, err
	}
	age, err := m.Float64ObservableGauge("dflag.fleet.sync.age", metric.WithUnit("s"),
		metric.WithDescription("how stale the fleet state in force may be: 0 while connected"))
	if err != nil {
		return nil, err
	}
	keys, err := m.Int64ObservableGauge("dflag.fleet.keys",
		metric.WithDescription("etcd keys under the fleet prefix known to the bridge"))
	if err != nil {
		return nil, err
	}
	if x.refusedCtr, err = m.Int64Counter("dflag.fleet.refused",
		metric.WithDescription("etcd values the fleet bridge refused (malformed, or switching every flag)")); err != nil {
		return nil, err
	}
	x.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := b.Status()
		c := int64(0)
		if st.Connected {
			c = 1
		}
		o.ObserveInt64(connected, c, x.prefixAttrs)
		o.ObserveFloat64(age, st.Age.Seconds(), x.prefixAttrs)
		o.ObserveInt64(keys, int64(len(st.Keys)), x.prefixAttrs)
		return nil
	}, connected, age, keys)
	if err != nil {
		return nil, err
	}
	return &x, nil
}

func (m *metrics) refused(ctx context.Context) {
	m.refusedCtr.Add(context.WithoutCancel(ctx), 1, m.prefixAttrs)
}

func (m *metrics) close() {
	if m.reg != nil {
		m.reg.Unregister()
	}
}

func prefixAttr(p string) attribute.KeyValue { return attribute.String("dflag.fleet.prefix", p) }
