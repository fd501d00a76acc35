// Package otelmetrics exports the activity of package dflag as OpenTelemetry
// metrics: control operations, flags that changed value, code sites
// patched, the time spent patching, and how many flags are on. It is a
// separate package so that dflag itself depends only on the standard
// library and golang.org/x.
//
// Call [Start] once, after the MeterProvider is set up:
//
//	stop, err := otelmetrics.Start()
//	if err != nil { ... }
//	defer stop()
//
// The instruments, from the meter named [ScopeName]:
//
//	dflag.operations        counter    control operations, by dflag.op (and dflag.kind for kind operations)
//	dflag.flips             counter    records whose value changed, by dflag.op
//	dflag.sites.patched     counter    call sites whose code was rewritten, by dflag.op
//	dflag.patch.duration    histogram  seconds spent rewriting code per operation that patched
//	dflag.flags             gauge      records, by dflag.kind and dflag.site (hook or call)
//	dflag.flags.on          gauge      records that are on, by dflag.kind and dflag.site
//
// and the patch engine's own counts since the process started (all zero
// where the engine cannot patch):
//
//	dflag.engine.batches       counter  rewrites of code that wrote at least one byte
//	dflag.engine.code.written  counter  bytes stored into code (one per call site on amd64)
//	dflag.engine.pages         counter  pages made writable, summed over rewrites
//	dflag.engine.mprotects     counter  mprotect system calls (two per run of pages)
//	dflag.engine.membarriers   counter  membarrier(SYNC_CORE) calls
//	dflag.engine.index.size    gauge    bytes kept by the index of direct calls
//
// Exported to Prometheus (go.opentelemetry.io/otel/exporters/prometheus),
// the names become dflag_operations_total, dflag_sites_patched_total,
// dflag_patch_duration_seconds, dflag_engine_code_written_bytes_total and
// so on.
package otelmetrics

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"bounded.dev/dflag"
	"bounded.dev/internal/patch"
)

// ScopeName is the instrumentation scope (meter name) of the metrics.
const ScopeName = "bounded.dev/dflag"

// The attribute keys.
const (
	OpKey   = attribute.Key("dflag.op")   // activate, deactivate, unhook, rehook or init
	KindKey = attribute.Key("dflag.kind") // a flag kind
	SiteKey = attribute.Key("dflag.site") // hook or call
)

// PatchBuckets are the histogram bucket boundaries of dflag.patch.duration,
// in seconds: one mprotect pair costs about 3 µs, a large batch of sites
// milliseconds.
var PatchBuckets = []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1}

// Option configures [Start].
type Option func(*config)

type config struct {
	mp metric.MeterProvider
}

// WithMeterProvider makes Start use mp instead of the global MeterProvider
// ([otel.GetMeterProvider]).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// recorder holds the synchronous instruments.
type recorder struct {
	ops, flips, patched metric.Int64Counter
	patchTime           metric.Float64Histogram
}

// Start creates the instruments and records every later dflag control
// operation (see [dflag.Watch]) until stop is called. stop is idempotent.
// Start may be called more than once, for example with different
// providers; each call records independently.
func Start(opts ...Option) (stop func(), err error) {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	m := c.mp.Meter(ScopeName)
	r, err := newRecorder(m)
	if err != nil {
		return nil, err
	}
	flagsG, err1 := m.Int64ObservableGauge("dflag.flags", metric.WithUnit("{flag}"),
		metric.WithDescription("Dynamic flag records, by kind and site."))
	onG, err2 := m.Int64ObservableGauge("dflag.flags.on", metric.WithUnit("{flag}"),
		metric.WithDescription("Dynamic flag records that are on, by kind and site."))
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	eng, err := newEngineInstruments(m)
	if err != nil {
		return nil, err
	}
	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		eng.observe(o)
		return observe(o, flagsG, onG)
	}, append([]metric.Observable{flagsG, onG}, eng.all()...)...)
	if err != nil {
		return nil, err
	}
	unwatch := dflag.Watch(r.record)
	var once sync.Once
	return func() {
		once.Do(func() {
			unwatch()
			reg.Unregister()
		})
	}, nil
}

// newRecorder creates the synchronous instruments.
func newRecorder(m metric.Meter) (*recorder, error) {
	var r recorder
	var errs [4]error
	r.ops, errs[0] = m.Int64Counter("dflag.operations", metric.WithUnit("{operation}"),
		metric.WithDescription("Control operations on dynamic flags (activate, deactivate, unhook, rehook, init)."))
	r.flips, errs[1] = m.Int64Counter("dflag.flips", metric.WithUnit("{flag}"),
		metric.WithDescription("Dynamic flag records whose value changed."))
	r.patched, errs[2] = m.Int64Counter("dflag.sites.patched", metric.WithUnit("{site}"),
		metric.WithDescription("Call sites whose machine code was rewritten."))
	r.patchTime, errs[3] = m.Float64Histogram("dflag.patch.duration", metric.WithUnit("s"),
		metric.WithDescription("Time spent rewriting code, per control operation that patched call sites."),
		metric.WithExplicitBucketBoundaries(PatchBuckets...))
	return &r, errors.Join(errs[:]...)
}

// record is the dflag.Watch callback.
func (r *recorder) record(ev dflag.Event) {
	ctx := context.Background()
	op := OpKey.String(string(ev.Op))
	opOnly := metric.WithAttributeSet(attribute.NewSet(op))
	if ev.Kind != "" {
		r.ops.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(op, KindKey.String(ev.Kind))))
	} else {
		r.ops.Add(ctx, 1, opOnly)
	}
	if ev.Flipped > 0 {
		r.flips.Add(ctx, int64(ev.Flipped), opOnly)
	}
	if ev.Patched > 0 {
		r.patched.Add(ctx, int64(ev.Patched), opOnly)
		r.patchTime.Record(ctx, ev.PatchTime.Seconds(), opOnly)
	}
}

type group struct {
	kind string
	call bool
}

// observe reports the flag table.
func observe(o metric.Observer, flagsG, onG metric.Int64ObservableGauge) error {
	states, err := dflag.List("")
	if err != nil {
		return err
	}
	all := map[group]int64{}
	on := map[group]int64{}
	for _, s := range states {
		g := group{s.Kind, s.CallSite()}
		all[g]++
		if s.On {
			on[g]++
		}
	}
	for g, n := range all {
		site := "hook"
		if g.call {
			site = "call"
		}
		attrs := metric.WithAttributeSet(attribute.NewSet(KindKey.String(g.kind), SiteKey.String(site)))
		o.ObserveInt64(flagsG, n, attrs)
		o.ObserveInt64(onG, on[g], attrs)
	}
	return nil
}

// engineInstruments report internal/patch's counters.
type engineInstruments struct {
	batches, written, pages, mprotects, membarriers metric.Int64ObservableCounter
	index                                           metric.Int64ObservableGauge
}

func newEngineInstruments(m metric.Meter) (*engineInstruments, error) {
	var e engineInstruments
	var errs [6]error
	e.batches, errs[0] = m.Int64ObservableCounter("dflag.engine.batches", metric.WithUnit("{batch}"),
		metric.WithDescription("Rewrites of code by the patch engine that wrote at least one byte."))
	e.written, errs[1] = m.Int64ObservableCounter("dflag.engine.code.written", metric.WithUnit("By"),
		metric.WithDescription("Bytes the patch engine stored into code."))
	e.pages, errs[2] = m.Int64ObservableCounter("dflag.engine.pages", metric.WithUnit("{page}"),
		metric.WithDescription("Code pages the patch engine made writable, summed over rewrites."))
	e.mprotects, errs[3] = m.Int64ObservableCounter("dflag.engine.mprotects", metric.WithUnit("{call}"),
		metric.WithDescription("mprotect system calls made by the patch engine."))
	e.membarriers, errs[4] = m.Int64ObservableCounter("dflag.engine.membarriers", metric.WithUnit("{call}"),
		metric.WithDescription("membarrier(SYNC_CORE) calls made by the patch engine."))
	e.index, errs[5] = m.Int64ObservableGauge("dflag.engine.index.size", metric.WithUnit("By"),
		metric.WithDescription("Memory kept by the patch engine's index of direct calls."))
	return &e, errors.Join(errs[:]...)
}

func (e *engineInstruments) all() []metric.Observable {
	return []metric.Observable{e.batches, e.written, e.pages, e.mprotects, e.membarriers, e.index}
}

func (e *engineInstruments) observe(o metric.Observer) {
	st := patch.ReadStats()
	o.ObserveInt64(e.batches, clamp(st.Batches))
	o.ObserveInt64(e.written, clamp(st.Bytes))
	o.ObserveInt64(e.pages, clamp(st.Pages))
	o.ObserveInt64(e.mprotects, clamp(st.Mprotects))
	o.ObserveInt64(e.membarriers, clamp(st.Membarriers))
	o.ObserveInt64(e.index, clamp(st.IndexBytes))
}

func clamp(v uint64) int64 { return int64(min(v, 1<<63-1)) }
