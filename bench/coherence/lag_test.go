package coherencebench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lagTimeout bounds how long a local copy may outlive the write that
// overwrote it before a lag sample fails: a hang guard, not a speed goal.
const lagTimeout = 10 * time.Second

// lagImpls are the implementations whose local tier can be observed
// emptying (go-redis/cache's never does before its TTL).
var lagImpls = []string{implTiercache, implTCWriter, implGoRedisCSC}

// lagKey is the one key a lag sampler writes; its subject caches nothing
// else, so that "the local tier is empty" means "this key's copy is gone".
const lagKey = "lag"

// lagSampler times, for one subject, how long a local copy outlives the
// write that overwrites it.
type lagSampler struct {
	s       *subject
	version int
}

// newLagSampler returns a sampler on a fresh subject of impl, with its key
// written, cached and the writes' first invalidation behind it.
func newLagSampler(tb testing.TB, impl string) *lagSampler {
	tb.Helper()
	l := &lagSampler{s: newSubject(tb, impl)}
	ctx := setupCtx(tb)
	if err := l.s.put(ctx, lagKey, "0"); err != nil {
		tb.Fatalf("%s: %v", impl, err)
	}
	// The first write's invalidation may arrive after the read that
	// caches it: one sample, discarded, puts it behind.
	if err := l.refill(ctx); err != nil {
		tb.Fatal(err)
	}
	if _, err := l.sample(ctx); err != nil {
		tb.Fatal(err)
	}
	return l
}

// refill reads the key until the local tier holds its current value.
func (l *lagSampler) refill(ctx context.Context) error {
	want := strconv.Itoa(l.version)
	var got string
	var err error
	if !waitFor(lagTimeout, func() bool {
		got, err = l.s.get(ctx, lagKey)
		return err == nil && got == want && l.s.cached() == 1
	}) {
		return fmt.Errorf("%s: the local tier did not keep %q within %v (last read %q, %v; %d entries)",
			l.s.impl, want, lagTimeout, got, err, l.s.cached())
	}
	return nil
}

// sample writes a new version of the cached key and returns the time from
// the write's start until the local copy is gone. The caller refills first.
func (l *lagSampler) sample(ctx context.Context) (time.Duration, error) {
	l.version++
	start := time.Now()
	if err := l.s.put(ctx, lagKey, strconv.Itoa(l.version)); err != nil {
		return 0, fmt.Errorf("%s: %w", l.s.impl, err)
	}
	for l.s.cached() > 0 {
		if time.Since(start) > lagTimeout {
			return 0, fmt.Errorf("%s: the local copy outlived its overwrite by %v", l.s.impl, lagTimeout)
		}
		runtime.Gosched()
	}
	return time.Since(start), nil
}

// TestInvalidationLag times -coherence.lagsamples (default 200) overwrites
// of a locally cached key for each implementation that drops local copies,
// and logs the distribution (go test -v). It checks that every overwritten
// copy is dropped, without waiting for any TTL.
func TestInvalidationLag(t *testing.T) {
	ctx := context.Background()
	var rows, stats []string
	for _, impl := range lagImpls {
		t.Run(impl, func(t *testing.T) {
			l := newLagSampler(t, impl)
			lags := make([]time.Duration, 0, *lagSamples)
			for range *lagSamples {
				if err := l.refill(ctx); err != nil {
					t.Fatal(err)
				}
				d, err := l.sample(ctx)
				if err != nil {
					t.Fatal(err)
				}
				lags = append(lags, d)
			}
			slices.Sort(lags)
			var sum time.Duration
			for _, d := range lags {
				sum += d
			}
			rows = append(rows, fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s |", impl, len(lags),
				us(quantile(lags, 0.5)), us(quantile(lags, 0.9)), us(quantile(lags, 0.99)), us(lags[len(lags)-1]),
				us(sum/time.Duration(len(lags)))))
			stats = append(stats, "- "+impl+": "+l.s.stats())
		})
	}
	t.Log("\nFrom the start of an overwrite until the local copy is gone:\n\n" +
		"| impl | samples | p50 | p90 | p99 | max | mean |\n|---|--:|--:|--:|--:|--:|--:|\n" +
		strings.Join(rows, "\n") + "\n\n" + strings.Join(stats, "\n"))
}

// BenchmarkForeignWriteLag times, per op, one overwrite of a locally cached
// key by another client, from the write's start until the local copy is
// gone (the refill between two ops is not timed), and reports the median
// and the 99th percentile as extra metrics. tiercache: a plain go-redis
// client writes tiercache's envelope; go-redis' client-side cache: a plain
// go-redis client's SET.
func BenchmarkForeignWriteLag(b *testing.B) {
	ctx := context.Background()
	for _, impl := range []string{implTiercache, implGoRedisCSC} {
		b.Run(impl, func(b *testing.B) {
			l := newLagSampler(b, impl)
			b.ReportAllocs()
			var lags []time.Duration
			for b.Loop() {
				b.StopTimer()
				if err := l.refill(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				d, err := l.sample(ctx)
				if err != nil {
					b.Fatal(err)
				}
				lags = append(lags, d)
			}
			slices.Sort(lags)
			b.ReportMetric(float64(quantile(lags, 0.5))/float64(time.Microsecond), "p50-µs")
			b.ReportMetric(float64(quantile(lags, 0.99))/float64(time.Microsecond), "p99-µs")
		})
	}
}

// quantile returns the q-quantile of sorted, 0 when it is empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
