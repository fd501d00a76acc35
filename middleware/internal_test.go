package middleware

import (
	"testing"
)

func TestQueryAsks(t *testing.T) {
	for raw, want := range map[string]bool{
		"tracing=1":           true,
		"a=b&tracing=true":    true,
		"tracing=ON&a=b":      true,
		"tracing=%31":         true,
		"tracing=+1":          true, // "+" unescapes to a space, trimmed
		"tracing=0":           false,
		"tracing=":            false,
		"tracing":             false,
		"xtracing=1":          false,
		"tracingx=1":          false,
		"a=tracing=1":         false,
		"tracing=0&tracing=1": false, // the first occurrence decides
		"":                    false,
	} {
		if got := queryAsks(raw, "tracing"); got != want {
			t.Errorf("%q: %v, want %v", raw, got, want)
		}
	}
}

func TestSampledTraceparent(t *testing.T) {
	const id = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"
	for v, want := range map[string]bool{
		"00-" + id + "-01":        true,
		"00-" + id + "-03":        true,
		" 00-" + id + "-01 ":      true,
		"00-" + id + "-00":        false,
		"00-" + id + "-02":        false,
		"00-" + id + "-01-extra":  false, // version 00 has exactly four fields
		"01-" + id + "-01-future": true,  // later versions may append fields
		"ff-" + id + "-01":        false, // invalid version
		"00-" + id + "-0x":        false,
		"00-" + id:                false,
		"":                        false,
	} {
		if got := sampledTraceparent(v); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}
