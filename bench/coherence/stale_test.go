package coherencebench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// staleImpls are the implementations of the stale-read study, in the order
// they run: the control first.
var staleImpls = []string{implRedisGet, implTiercache, implGoRedisCSC, implGoRedisGRC}

// TestStaleReads runs the stale-read study on each implementation for
// -coherence.duration (default 2s) and logs its table (go test -v).
//
// It checks the harness as much as the implementations: the control (a
// GET per read) must show no stale read, since Redis answers a GET that
// starts after a SET returned with that SET's value or a later one; and
// go-redis/cache, which never invalidates a local copy, must be caught
// serving stale values, or the study could not see staleness at all. The
// coherent implementations must answer every key with its last version
// once the writer has stopped. No read may return a version whose write
// had not begun.
func TestStaleReads(t *testing.T) {
	var results []studyResult
	for _, impl := range staleImpls {
		t.Run(impl, func(t *testing.T) {
			s := newSubject(t, impl)
			st := newStudy(t, s)
			res := st.measure(0, *studyDuration)
			res.settled, res.staleKeys = st.settle(context.Background())
			results = append(results, res)

			if res.errs != 0 {
				t.Errorf("%d reads or writes failed; the first: %v", res.errs, res.firstErr)
			}
			if res.phantoms != 0 {
				t.Errorf("%d reads returned a version whose write had not begun", res.phantoms)
			}
			if impl == implRedisGet && res.stale != 0 {
				t.Errorf("control: %d stale reads, want 0: the harness counts fresh reads as stale", res.stale)
			}
			if s.coherent && res.staleKeys != 0 {
				t.Errorf("%d of %d keys still stale %v after the last write", res.staleKeys, studyKeys, settleCoherent)
			}
			if impl == implGoRedisGRC && res.writes >= studyKeys && res.staleKeys == 0 {
				t.Errorf("go-redis/cache: every key read back its last version after %d writes, "+
					"but its local copies never learn of writes: the study does not see stale reads", res.writes)
			}
		})
	}
	t.Log("\n" + staleTable(results))
}

// BenchmarkStaleRead runs the stale-read study for b.N reads in all (a
// fresh subject each time) and reports ns/op as the mean duration of one
// read while the foreign writer runs, and as extra metrics the fraction of
// stale reads, the fraction answered locally and the oldest stale read's
// age. B/op and allocs/op count the writer too.
func BenchmarkStaleRead(b *testing.B) {
	for _, impl := range staleImpls {
		b.Run(impl, func(b *testing.B) {
			st := newStudy(b, newSubject(b, impl))
			b.ResetTimer()
			res := st.measure(int64(b.N), 0)
			b.StopTimer()
			if res.errs != 0 {
				b.Fatalf("%d reads or writes failed; the first: %v", res.errs, res.firstErr)
			}
			if res.phantoms != 0 {
				b.Fatalf("%d reads returned a version whose write had not begun", res.phantoms)
			}
			b.ReportMetric(float64(res.meanRead().Nanoseconds()), "ns/op")
			b.ReportMetric(float64(res.stale)/float64(res.reads), "stale-reads/op")
			b.ReportMetric(float64(res.ageQuantile(1)/time.Microsecond), "max-stale-µs")
			local := 0.0
			if res.remote >= 0 {
				local = 1 - float64(res.remote)/float64(res.reads)
			}
			b.ReportMetric(local, "local-reads/op")
		})
	}
}

// staleTable renders results as a markdown table, with each
// implementation's own statistics below it.
func staleTable(results []studyResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d keys, %d readers (bursts of %d reads, %v pauses), one foreign writer (%v pause after each write)\n\n",
		studyKeys, studyReaders, studyBurst, readPause, writePause)
	b.WriteString("| impl | reads | served locally | mean read | writes | stale reads | max versions behind | stale age p50 / p99 / max | after the last write |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, r := range results {
		local := "0%"
		if r.remote >= 0 && r.reads > 0 {
			local = fmt.Sprintf("%.1f%%", 100*(1-float64(r.remote)/float64(r.reads)))
		}
		stale := fmt.Sprintf("%d (%.3f%%)", r.stale, 100*float64(r.stale)/float64(max(r.reads, 1)))
		ages := "–"
		if r.stale > 0 {
			ages = fmt.Sprintf("%s / %s / %s", us(r.ageQuantile(0.5)), us(r.ageQuantile(0.99)), us(r.ageQuantile(1)))
		}
		settled := fmt.Sprintf("all %d keys fresh within %s", studyKeys, r.settled.Round(time.Millisecond))
		if r.staleKeys > 0 {
			settled = fmt.Sprintf("**%d of %d keys still stale after %v**", r.staleKeys, studyKeys, r.settled.Round(time.Millisecond))
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %d | %s | %d | %s | %s |\n",
			r.impl, r.reads, local, us(r.meanRead()), r.writes, stale, r.maxBehind, ages, settled)
	}
	b.WriteString("\n")
	for _, r := range results {
		if r.stats != "" {
			fmt.Fprintf(&b, "- %s: %s\n", r.impl, r.stats)
		}
	}
	return b.String()
}
