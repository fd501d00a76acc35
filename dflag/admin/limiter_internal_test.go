package admin

import (
	"testing"
	"time"
)

func TestLimiterRefills(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(2, 3, func() time.Time { return now })
	for i := range 3 {
		if !l.allow() {
			t.Fatalf("burst token %d refused", i)
		}
	}
	if l.allow() {
		t.Fatal("fourth token allowed")
	}
	now = now.Add(499 * time.Millisecond)
	if l.allow() {
		t.Fatal("token allowed before it refilled")
	}
	now = now.Add(2 * time.Millisecond)
	if !l.allow() || l.allow() {
		t.Fatal("want exactly one token after 0.5 s at 2/s")
	}
	now = now.Add(time.Hour) // refills up to the burst only
	for i := range 3 {
		if !l.allow() {
			t.Fatalf("token %d after an hour refused", i)
		}
	}
	if l.allow() {
		t.Fatal("bucket exceeded its burst")
	}
	now = now.Add(-time.Minute) // a clock going backwards adds nothing
	if l.allow() {
		t.Fatal("token allowed after the clock went back")
	}
}
