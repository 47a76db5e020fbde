package coherencebench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The stale-read study's workload. Readers and the writer pause between
// bursts so that the process is not CPU-bound, as a server's goroutines,
// which block on I/O, are not: when every P runs a goroutine that never
// blocks, the Go scheduler polls the network only every 10ms or so, and
// every implementation would receive its invalidations that much later.
const (
	studyKeys    = 64 // keys the writer cycles through and readers pick at random
	studyReaders = 4  // reader goroutines
	studyBurst   = 16 // reads between two pauses of a reader
	readPause    = 100 * time.Microsecond
	writePause   = 200 * time.Microsecond // after each write
	// settleCoherent bounds how long a coherent implementation may take,
	// after the last write, to answer every key with its last version: a
	// hang guard, not a speed goal.
	settleCoherent = 10 * time.Second
	// settlePeer is how long the study watches go-redis/cache, which
	// promises nothing before its local TTL, before it reports how many
	// keys are still stale.
	settlePeer = time.Second
)

// study is one run of the stale-read study on a subject.
type study struct {
	s     *subject
	keys  []string
	track []tracker
	epoch time.Time
}

// tracker is what the writer has done to one key.
type tracker struct {
	started   atomic.Int64 // latest version whose write has begun
	completed atomic.Int64 // latest version whose write has returned

	mu     sync.Mutex
	doneAt []time.Duration // doneAt[v]: when the write of version v returned, since the epoch
}

// completedAt returns when the write of version v returned. v must be at
// most completed.Load().
func (t *tracker) completedAt(v int64) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.doneAt[v]
}

// studyResult is what one run observed.
type studyResult struct {
	impl      string
	elapsed   time.Duration // readers' wall time
	reads     int64
	remote    int64 // reads that went to Redis; -1 when unknown
	readTime  time.Duration
	writes    int64
	stale     int64
	maxBehind int64           // versions
	ages      []time.Duration // of each stale read: read start minus the completion of the next version
	phantoms  int64           // reads of a version whose write had not begun: a broken harness
	errs      int64
	firstErr  error
	// settled is how long after the last write every key read back its
	// last version; staleKeys counts those that had not within the settle
	// time.
	settled   time.Duration
	staleKeys int
	stats     string
}

// newStudy writes version 0 of every key through s's foreign writer and
// warms s's local tier.
func newStudy(tb testing.TB, s *subject) *study {
	tb.Helper()
	st := &study{s: s, keys: make([]string, studyKeys), track: make([]tracker, studyKeys), epoch: time.Now()}
	ctx := setupCtx(tb)
	for i := range st.keys {
		st.keys[i] = fmt.Sprintf("k%02d", i)
		if err := s.put(ctx, st.keys[i], "0"); err != nil {
			tb.Fatalf("%s: writing %s: %v", s.impl, st.keys[i], err)
		}
		st.track[i].doneAt = []time.Duration{time.Since(st.epoch)}
	}
	warm(tb, s, st.keys)
	return st
}

// measure runs the writer and the readers until the readers have read
// reads times in all (reads > 0) or for d.
func (st *study) measure(reads int64, d time.Duration) studyResult {
	ctx := context.Background()
	res := studyResult{impl: st.s.impl, remote: -1}
	remote0 := uint64(0)
	if st.s.remote != nil {
		remote0 = st.s.remote()
	}

	stopWriter := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() { writerDone <- st.write(ctx, stopWriter, &res.writes) }()

	var claimed atomic.Int64
	start := time.Now()
	more := func() int {
		if reads > 0 {
			n := claimed.Add(studyBurst)
			return int(min(studyBurst, max(0, reads-(n-studyBurst))))
		}
		if time.Since(start) >= d {
			return 0
		}
		return studyBurst
	}
	parts := make([]studyResult, studyReaders)
	var wg sync.WaitGroup
	for r := range parts {
		wg.Go(func() { st.read(ctx, uint64(r), more, &parts[r]) })
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	close(stopWriter)
	if err := <-writerDone; err != nil {
		res.errs++
		res.firstErr = fmt.Errorf("writer: %w", err)
	}
	for _, p := range parts {
		res.add(p)
	}
	if st.s.remote != nil {
		res.remote = int64(st.s.remote() - remote0)
	}
	res.stats = st.s.stats()
	return res
}

// write overwrites the keys in turn with increasing versions until stop is
// closed, pausing writePause after each write.
func (st *study) write(ctx context.Context, stop <-chan struct{}, writes *int64) error {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		t := &st.track[i%studyKeys]
		v := t.started.Add(1)
		if err := st.s.put(ctx, st.keys[i%studyKeys], strconv.FormatInt(v, 10)); err != nil {
			return err
		}
		at := time.Since(st.epoch)
		t.mu.Lock()
		t.doneAt = append(t.doneAt, at) // at index v: versions are written in order
		t.mu.Unlock()
		t.completed.Store(v)
		*writes++
		time.Sleep(writePause) // pacing, not synchronization
	}
}

// read reads random keys in bursts of the size more returns, until it
// returns 0, and records what it sees in res.
func (st *study) read(ctx context.Context, seed uint64, more func() int, res *studyResult) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for n := more(); n > 0; n = more() {
		for range n {
			k := rng.IntN(studyKeys)
			t := &st.track[k]
			floor := t.completed.Load()
			begin := time.Since(st.epoch)
			val, err := st.s.get(ctx, st.keys[k])
			res.readTime += time.Since(st.epoch) - begin
			res.reads++
			if err != nil {
				res.fail(err)
				continue
			}
			got, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				res.fail(fmt.Errorf("%s: value %q: %w", st.keys[k], val, err))
				continue
			}
			if got > t.started.Load() {
				res.phantoms++
			}
			if got < floor {
				res.stale++
				res.maxBehind = max(res.maxBehind, floor-got)
				res.ages = append(res.ages, begin-t.completedAt(got+1))
			}
		}
		time.Sleep(readPause) // pacing, not synchronization
	}
}

// settle reads every key, once the writer has stopped, until it returns
// its last version, and returns how long that took after the call and how
// many keys were still stale when the settle time ran out.
func (st *study) settle(ctx context.Context) (time.Duration, int) {
	limit := settlePeer
	if st.s.coherent {
		limit = settleCoherent
	}
	start := time.Now()
	pending := make(map[int]bool, studyKeys)
	for k := range st.keys {
		pending[k] = true
	}
	waitFor(limit, func() bool {
		for k := range pending {
			val, err := st.s.get(ctx, st.keys[k])
			if err == nil && val == strconv.FormatInt(st.track[k].completed.Load(), 10) {
				delete(pending, k)
			}
		}
		return len(pending) == 0
	})
	return time.Since(start), len(pending)
}

func (r *studyResult) fail(err error) {
	if r.firstErr == nil {
		r.firstErr = err
	}
	r.errs++
}

func (r *studyResult) add(p studyResult) {
	r.reads += p.reads
	r.readTime += p.readTime
	r.stale += p.stale
	r.maxBehind = max(r.maxBehind, p.maxBehind)
	r.ages = append(r.ages, p.ages...)
	r.phantoms += p.phantoms
	r.errs += p.errs
	if r.firstErr == nil {
		r.firstErr = p.firstErr
	}
}

// ageQuantile returns the q-quantile of the stale reads' ages, 0 without
// stale reads.
func (r *studyResult) ageQuantile(q float64) time.Duration {
	slices.Sort(r.ages)
	return quantile(r.ages, q)
}

// meanRead is the mean duration of one read.
func (r *studyResult) meanRead() time.Duration {
	if r.reads == 0 {
		return 0
	}
	return r.readTime / time.Duration(r.reads)
}
