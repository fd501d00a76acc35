package fleet

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"bounded.dev/dflag"
	"go.opentelemetry.io/otel/metric/noop"
)

// offlineBridge is a bridge with no etcd, for feeding values to put and
// del directly.
func offlineBridge(t testing.TB) *Bridge {
	b := &Bridge{
		r:    &resolved{prefix: DefaultPrefix},
		log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		keys: map[string]*key{},
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.cfg.MeterProvider = noop.NewMeterProvider()
	m, err := newMetrics(b)
	if err != nil {
		t.Fatal(err)
	}
	b.metrics = m
	t.Cleanup(func() { b.releaseAll(); b.cancel() })
	return b
}

// FuzzValue feeds any value to a key whose terms are valid: the value is
// either accepted, its terms all valid and none matching every flag, or
// refused with the key's terms left as they were; deleting the key then
// releases everything.
func FuzzValue(f *testing.F) {
	for _, s := range []string{
		"", "-breaker:a", "+advice:x !crashy:y", "-", "+.*", "!^", "?x", "x",
		"-(", `+"a b"`, "+`a\\.b`", "# comment\n-a\n\n!b", "-a|", "+(|x)", "-^$",
		"-\x00", "+\"unterminated", "-a -b -c -d", strings.Repeat("-a ", 100),
	} {
		f.Add(s)
	}
	b := offlineBridge(f)
	const k = "/dflag/fuzz"
	f.Fuzz(func(t *testing.T, value string) {
		if !b.put(k, "-fuzz:base", 1) && termsOf(b, k) != "-fuzz:base" {
			t.Fatalf("base value not in force: %q", termsOf(b, k))
		}
		b.put(k, value, 2)
		ks, _ := keyStatus(b, k)
		if ks.Error != "" {
			if strings.Join(ks.Terms, " ") != "-fuzz:base" {
				t.Fatalf("refused %q but the terms changed to %q", value, ks.Terms)
			}
			if !strings.HasPrefix(ks.Error, "fleet: ") || strings.Count(ks.Error, "dflag: ") > 0 {
				t.Fatalf("error %q: want one fleet: prefix", ks.Error)
			}
		} else {
			for _, term := range ks.Terms {
				if term == "" || !strings.ContainsRune("+-!", rune(term[0])) {
					t.Fatalf("accepted term %q", term)
				}
				if err := dflag.ValidPattern(term[1:]); err != nil {
					t.Fatalf("accepted term %q: %v", term, err)
				}
				if matchesAll(term[1:]) {
					t.Fatalf("accepted term %q matches every flag", term)
				}
			}
		}
		b.del(k)
		if _, ok := keyStatus(b, k); ok {
			t.Fatal("key left after delete")
		}
	})
}

func TestMatchesAll(t *testing.T) {
	for p, want := range map[string]bool{
		"": true, ".*": true, "^": true, "a*": true, "(|x)": true, "a|": true, "x?": true,
		"a": false, "^a": false, "breaker:": false, "[a-z]+": false, "a|b": false,
	} {
		if got := matchesAll(p); got != want {
			t.Errorf("matchesAll(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestKeyRefusedByTheRegistry(t *testing.T) {
	b := offlineBridge(t)
	long := "/dflag/" + strings.Repeat("k", 300) // owner names are at most 256 bytes
	b.put(long, "-breaker:long", 1)
	ks, _ := keyStatus(b, long)
	if !strings.Contains(ks.Error, "256") || len(ks.Terms) != 0 {
		t.Errorf("a key too long for an owner name: %+v", ks)
	}
	b.put("/dflag/ctl\x01", "-breaker:ctl", 2)
	if ks, _ := keyStatus(b, "/dflag/ctl\x01"); !strings.Contains(ks.Error, "control character") {
		t.Errorf("a key with a control character: %+v", ks)
	}
	b.mu.Lock()
	err := b.keys[long].err
	b.mu.Unlock()
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Key != long || errors.Unwrap(err) == nil {
		t.Errorf("refusal %v is not a *ValueError for the key", err)
	}
	if b.Age() != 0 {
		t.Errorf("Age of a bridge that never synced: %v", b.Age())
	}
}
