package httpguard

import (
	"sync"
	"time"
)

// Bucket is a token bucket: it holds at most burst tokens and gains rate
// tokens per second. It is safe for concurrent use.
type Bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewBucket returns a full bucket. now is the clock (time.Now if nil).
func NewBucket(rate float64, burst int, now func() time.Time) *Bucket {
	if now == nil {
		now = time.Now
	}
	return &Bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// Take takes a token and reports whether there was one.
func (b *Bucket) Take() bool { return b.TakeN(1) }

// TakeN takes n tokens if the bucket holds that many, and reports whether
// it did: all or nothing, so a request that costs n (a spec of n terms)
// either gets all of them or changes nothing. n <= 0 always succeeds.
func (b *Bucket) TakeN(n int) bool {
	if n <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// Burst returns the most tokens the bucket holds: a request that costs
// more can never be admitted.
func (b *Bucket) Burst() int { return int(b.burst) }
