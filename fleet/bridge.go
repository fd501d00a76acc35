package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
)

// Bridge keeps the terms under an etcd prefix in force, one owned hold per
// key (owner "etcd:<key>"). Make one with [Start]; a nil *Bridge (fleet
// control off) is valid and does nothing.
type Bridge struct {
	cfg Config
	r   *resolved
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	synced chan struct{} // closed at the first full read

	cli *clientv3.Client // owned by run

	mu         sync.Mutex
	keys       map[string]*key // written by run under mu
	connected  bool
	syncedAt   time.Time // last time the state was known to be current
	rev        int64     // etcd revision the state is at
	lastErr    error
	endSession context.CancelFunc // cancels the current watch
	fromFile   bool               // the state in force came from StateFile

	metrics *metrics
	saved   []byte // the state file as last written (run only)
}

// Start checks cfg, puts the state kept in cfg.StateFile (if any) in force,
// and starts following cfg.Prefix in the background. It does not wait for
// etcd: use [Bridge.WaitSynced] for that. With no endpoints it returns a
// nil *Bridge and a nil error (fleet control off). The bridge stops when
// ctx is done or at [Bridge.Close].
func Start(ctx context.Context, cfg Config) (*Bridge, error) {
	if len(cfg.Endpoints) == 0 && cfg.envErr == nil {
		return nil, nil
	}
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Second
	}
	b := &Bridge{
		cfg:    cfg,
		r:      r,
		log:    cfg.Logger,
		done:   make(chan struct{}),
		synced: make(chan struct{}),
		keys:   make(map[string]*key),
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	b.ctx, b.cancel = context.WithCancel(ctx)
	if b.metrics, err = newMetrics(b); err != nil {
		b.cancel()
		return nil, err
	}
	if len(r.plain) > 0 {
		msg := "fleet: plain-text connection to etcd off this machine (-etcd-insecure-plaintext): anyone on the path can read and forge the flag state"
		if cfg.Password != "" {
			msg += ", and read the etcd password"
		}
		b.log.Warn(msg, "endpoints", strings.Join(r.plain, ","))
	}
	b.loadState()
	go b.run()
	return b, nil
}

// Close stops following etcd and releases every hold the bridge took (the
// state file, if any, is kept for the next start). Safe to call more than
// once and on a nil *Bridge.
func (b *Bridge) Close() error {
	if b == nil {
		return nil
	}
	b.cancel()
	<-b.done
	b.metrics.close()
	b.mu.Lock()
	n := len(b.keys)
	if b.connected {
		b.connected, b.syncedAt = false, time.Now()
	}
	b.mu.Unlock()
	b.saveState() // with the time it was last known current
	if n == 0 {
		return nil
	}
	return b.releaseAll()
}

// WaitSynced waits until the bridge has read the prefix from etcd once, or
// ctx is done.
func (b *Bridge) WaitSynced(ctx context.Context) error {
	if b == nil {
		return errors.New("fleet: no bridge (fleet control is off)")
	}
	select {
	case <-b.synced:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		err := b.lastErr
		b.mu.Unlock()
		if err != nil {
			return fmt.Errorf("fleet: not synced with etcd: %w (last error: %v)", ctx.Err(), err)
		}
		return fmt.Errorf("fleet: not synced with etcd: %w", ctx.Err())
	case <-b.done:
		return errors.New("fleet: bridge closed before it synced")
	}
}

// run connects, reads, watches and reconnects until the bridge stops.
func (b *Bridge) run() {
	defer close(b.done)
	defer func() {
		if b.cli != nil {
			b.cli.Close()
		}
	}()
	wait := backoffDelay{min: 50 * time.Millisecond, max: b.cfg.MaxBackoff}
	var lastNag time.Time
	for b.ctx.Err() == nil {
		began := time.Now()
		err := b.session(&wait)
		if b.ctx.Err() != nil {
			return
		}
		b.setDisconnected(err)
		if st := b.Status(); st.Age > 30*time.Second && time.Since(lastNag) > 30*time.Second {
			lastNag = time.Now()
			b.log.Warn("fleet: still not connected to etcd; keeping the last state", "age", st.Age.Round(time.Second).String(), "keys", len(st.Keys), "err", err)
		}
		select {
		case <-b.ctx.Done():
		case <-time.After(wait.next() - time.Since(began)):
			// Attempts start at most one backoff apart; an attempt that
			// waited for a connection already waited its share.
		}
	}
}

// session makes the client if needed, reads the whole prefix, converges,
// then watches from the next revision until the watch or the connection
// breaks.
func (b *Bridge) session(wait *backoffDelay) error {
	if b.cli == nil {
		cli, err := b.newClient()
		if err != nil {
			return err
		}
		b.cli = cli
		go b.watchConn(cli.ActiveConnection())
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.DialTimeout)
	resp, err := b.cli.Get(ctx, b.r.prefix, clientv3.WithPrefix())
	cancel()
	if err != nil {
		if why := b.diagnose(); why != "" {
			return fmt.Errorf("fleet: reading %s from etcd: %w (%s)", b.r.prefix, err, why)
		}
		return fmt.Errorf("fleet: reading %s from etcd: %w", b.r.prefix, err)
	}
	rev := resp.Header.Revision
	b.mu.Lock()
	old := b.rev
	b.mu.Unlock()
	if rev < old {
		b.log.Warn("fleet: etcd revision went backwards (cluster restored or wiped); converging on its contents", "was", old, "now", rev)
	}
	kvs := make(map[string]kv, len(resp.Kvs))
	for _, x := range resp.Kvs {
		kvs[string(x.Key)] = kv{value: string(x.Value), modRev: x.ModRevision}
	}
	changed := b.converge(kvs)

	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(b.ctx))
	defer wcancel()
	b.mu.Lock()
	was := b.connected
	b.connected, b.syncedAt, b.rev, b.lastErr, b.endSession, b.fromFile = true, time.Now(), rev, nil, wcancel, false
	b.mu.Unlock()
	if st := b.cli.ActiveConnection().GetState(); st != connectivity.Ready {
		wcancel() // the connection broke after the read: read again
	}
	if !was {
		b.log.Info("fleet: connected to etcd", "endpoints", strings.Join(b.cfg.Endpoints, ","), "prefix", b.r.prefix, "revision", rev, "keys", len(kvs), "changed", changed)
	}
	b.saveState()
	select {
	case <-b.synced:
	default:
		close(b.synced)
	}
	wait.reset()

	if testHookBeforeWatch != nil {
		testHookBeforeWatch(rev)
	}
	wch := b.cli.Watch(wctx, b.r.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for wr := range wch {
		if wr.CompactRevision != 0 || errors.Is(wr.Err(), rpctypes.ErrCompacted) {
			b.log.Warn("fleet: etcd history compacted past the watch; re-reading the prefix", "compacted", wr.CompactRevision, "revision", rev)
			return nil
		}
		if err := wr.Err(); err != nil {
			return fmt.Errorf("fleet: watching %s: %w", b.r.prefix, err)
		}
		for _, ev := range wr.Events {
			k := string(ev.Kv.Key)
			switch ev.Type {
			case clientv3.EventTypePut:
				b.put(k, string(ev.Kv.Value), ev.Kv.ModRevision)
			case clientv3.EventTypeDelete:
				b.del(k)
			}
			rev = max(rev, ev.Kv.ModRevision)
		}
		rev = max(rev, wr.Header.Revision)
		b.mu.Lock()
		b.rev, b.syncedAt = rev, time.Now()
		b.mu.Unlock()
		b.saveState()
	}
	if b.ctx.Err() != nil {
		return b.ctx.Err()
	}
	return errors.New("fleet: connection to etcd lost")
}

// watchConn ends the current session whenever the connection leaves the
// ready state, so that the bridge reports the outage at once and re-reads
// the prefix when etcd is back (a wiped or restored cluster cannot be told
// from a resumed one by its revision alone).
func (b *Bridge) watchConn(conn *grpc.ClientConn) {
	st := conn.GetState()
	for conn.WaitForStateChange(b.ctx, st) {
		if st == connectivity.Ready {
			b.mu.Lock()
			end := b.endSession
			b.mu.Unlock()
			if end != nil {
				end()
			}
		}
		st = conn.GetState()
	}
}

func (b *Bridge) setDisconnected(err error) {
	b.mu.Lock()
	was := b.connected
	if was {
		b.syncedAt = time.Now()
	}
	changed := b.lastErr == nil || err == nil || b.lastErr.Error() != err.Error()
	b.connected, b.lastErr, b.endSession = false, err, nil
	n := len(b.keys)
	b.mu.Unlock()
	switch {
	case was:
		b.log.Warn("fleet: etcd unreachable; keeping the last state", "err", err, "keys", n)
	case changed:
		b.log.Warn("fleet: cannot read etcd; retrying", "err", err, "keys", n)
	}
}

func (b *Bridge) newClient() (*clientv3.Client, error) {
	eps := make([]string, len(b.r.endpoints))
	for i, e := range b.r.endpoints {
		eps[i] = e.url
	}
	cfg := clientv3.Config{
		Endpoints:            eps,
		DialTimeout:          b.cfg.DialTimeout,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		TLS:                  b.r.tls,
		Username:             b.cfg.Username,
		Password:             b.cfg.Password,
		Logger:               zap.NewNop(),
		Context:              b.ctx,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  50 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   b.cfg.MaxBackoff,
			},
			MinConnectTimeout: b.cfg.DialTimeout,
		})},
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("fleet: connecting to etcd at %s: %w", strings.Join(eps, ","), err)
	}
	return cli, nil
}

// diagnose says why no endpoint answers, when a read timed out without
// saying (gRPC waits for a connection and hides the dial error): it dials
// each endpoint once, with TLS if configured, and returns the first failure.
func (b *Bridge) diagnose() string {
	d := &net.Dialer{Timeout: b.cfg.DialTimeout}
	for _, ep := range b.r.endpoints {
		addr := strings.TrimPrefix(strings.TrimPrefix(ep.url, "https://"), "http://")
		if !strings.HasPrefix(ep.url, "https://") {
			c, err := d.DialContext(b.ctx, "tcp", addr)
			if err != nil {
				return err.Error()
			}
			c.Close()
			continue
		}
		t := b.r.tls
		if t == nil {
			t = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		t = t.Clone()
		if t.ServerName == "" {
			t.ServerName = ep.host
		}
		t.NextProtos = []string{"h2"}
		c, err := (&tls.Dialer{NetDialer: d, Config: t}).DialContext(b.ctx, "tcp", addr)
		if err != nil {
			return err.Error()
		}
		c.Close()
	}
	return ""
}

// testHookBeforeWatch, if set, runs between a session's read and its watch.
var testHookBeforeWatch func(rev int64)

// backoffDelay doubles from min to max, with jitter.
type backoffDelay struct {
	min, max, cur time.Duration
}

func (d *backoffDelay) next() time.Duration {
	if d.cur < d.min {
		d.cur = d.min
	} else {
		d.cur = min(2*d.cur, d.max)
	}
	return d.cur - time.Duration(rand.Int64N(int64(d.cur)/5+1))
}

func (d *backoffDelay) reset() { d.cur = 0 }
