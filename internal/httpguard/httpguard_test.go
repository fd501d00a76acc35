package httpguard

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestLocal(t *testing.T) {
	for _, c := range []struct {
		addr, header string
		want         bool
	}{
		{"127.0.0.1:1234", "", true},
		{"[::1]:1234", "", true},
		{"[::ffff:127.0.0.1]:1234", "", true},
		{"127.0.0.1:1234", "X-Forwarded-For", false},
		{"127.0.0.1:1234", "Forwarded", false},
		{"127.0.0.1:1234", "X-Real-Ip", false},
		{"10.0.0.1:1234", "", false},
		{"garbage", "", false},
		{"", "", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.addr
		if c.header != "" {
			r.Header.Set(c.header, "203.0.113.9")
		}
		if got := Local(r); got != c.want {
			t.Errorf("Local(%q, %q) = %v, want %v", c.addr, c.header, got, c.want)
		}
		if c.header != "" && ForwardingHeader(r) != c.header {
			t.Errorf("ForwardingHeader = %q, want %q", ForwardingHeader(r), c.header)
		}
	}
}

func TestBearer(t *testing.T) {
	for _, c := range []struct {
		header         string
		present, valid bool
	}{
		{"", false, false},
		{"Basic abc", false, false},
		{"Bearer s3cret", true, true},
		{"bearer  s3cret ", true, true},
		{"Bearer s3cre", true, false},
		{"Bearer", false, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		p, v := Bearer(r, []byte("s3cret"))
		if p != c.present || v != c.valid {
			t.Errorf("Bearer(%q) = %v, %v; want %v, %v", c.header, p, v, c.present, c.valid)
		}
	}
}

func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	b := NewBucket(2, 3, func() time.Time { return now })
	for i := range 3 {
		if !b.Take() {
			t.Fatalf("token %d of a full bucket refused", i)
		}
	}
	if b.Take() {
		t.Fatal("empty bucket gave a token")
	}
	now = now.Add(500 * time.Millisecond) // one token at 2/s
	if !b.Take() || b.Take() {
		t.Fatal("refill of one token not honoured exactly")
	}
	now = now.Add(time.Hour) // capped at burst
	n := 0
	for b.Take() {
		n++
	}
	if n != 3 {
		t.Fatalf("refilled to %d tokens, want burst 3", n)
	}
	now = now.Add(-time.Minute) // a clock going back adds nothing
	if b.Take() {
		t.Fatal("a clock going back added a token")
	}
}
