package tracestore

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// WriteText writes traces as a plain-text waterfall, one line per span and
// per event, as the handler serves with ?format=text.
func WriteText(w io.Writer, traces []Trace) error {
	if len(traces) == 0 {
		_, err := io.WriteString(w, "no traces yet: send a request that opts in (for example ?tracing=1)\n")
		return err
	}
	for i := range traces {
		if err := writeTrace(w, &traces[i]); err != nil {
			return err
		}
	}
	return nil
}

// writeTrace writes one trace as WriteText does, a span at a time.
func writeTrace(w io.Writer, t *Trace) error {
	const barWidth = 40
	b := bufio.NewWriterSize(w, 32<<10)
	fmt.Fprintf(b, "trace %s  %s  %s  %d spans  %s\n", t.TraceID, t.Root, fmtDur(t.Duration),
		len(t.Spans), t.Start.Format(time.RFC3339Nano))
	if t.Method != "" || t.StatusCode != 0 {
		fmt.Fprintf(b, "  %s %s", t.Method, t.Path)
		if t.StatusCode != 0 {
			fmt.Fprintf(b, " -> %d", t.StatusCode)
		}
		if t.RequestID != "" {
			fmt.Fprintf(b, "  request %s", t.RequestID)
		}
		b.WriteByte('\n')
	}
	if t.DroppedSpans > 0 {
		fmt.Fprintf(b, "  (%d spans dropped)\n", t.DroppedSpans)
	}
	for _, sp := range t.Spans {
		left, width := offsets(t, sp.Start, sp.Duration)
		from := int(left / 100 * barWidth)
		n := max(1, int(width/100*barWidth+0.5))
		from = min(from, barWidth-1)
		n = min(n, barWidth-from)
		mark := "="
		if sp.Status == "Error" {
			mark = "!"
		}
		bar := strings.Repeat(" ", from) + strings.Repeat(mark, n) + strings.Repeat(" ", barWidth-from-n)
		name := strings.Repeat("  ", sp.Depth) + sp.Name
		fmt.Fprintf(b, "  %-44s %10s |%s|\n", clip(name, 44), fmtDur(sp.Duration), bar)
		for _, k := range sortedKeys(sp.Attributes) {
			fmt.Fprintf(b, "  %s    %s=%v\n", strings.Repeat("  ", sp.Depth), k, sp.Attributes[k])
		}
		for _, ev := range sp.Events {
			fmt.Fprintf(b, "  %s    @%s %s", strings.Repeat("  ", sp.Depth), fmtDur(ev.Time.Sub(t.Start)), ev.Name)
			for _, k := range sortedKeys(ev.Attributes) {
				fmt.Fprintf(b, " %s=%v", k, ev.Attributes[k])
			}
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
	return b.Flush()
}

// clip shortens s to at most n bytes, without splitting a UTF-8 sequence,
// marking the cut with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n-1, 0)
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// fmtDur rounds a duration for display.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= time.Microsecond:
		return d.Round(100 * time.Nanosecond).String()
	}
	return d.String()
}

// offsets returns where an interval sits in its trace, in percent.
func offsets(t *Trace, start time.Time, d time.Duration) (left, width float64) {
	if t.Duration <= 0 {
		return 0, 100
	}
	left = float64(start.Sub(t.Start)) / float64(t.Duration) * 100
	width = float64(d) / float64(t.Duration) * 100
	left = min(max(left, 0), 100)
	width = min(max(width, 0), 100-left)
	return left, width
}
