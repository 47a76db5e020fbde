package collections

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of [LockOptions].
const (
	DefaultLockTTL       = 10 * time.Second
	DefaultRetryDelay    = 10 * time.Millisecond
	DefaultMaxRetryDelay = 200 * time.Millisecond
)

var (
	//go:embed lock_acquire.lua
	lockAcquireSrc string
	//go:embed lock_fence.lua
	lockFenceSrc string
	//go:embed lock_release.lua
	lockReleaseSrc string
	//go:embed lock_extend.lua
	lockExtendSrc string
	//go:embed lock_ttl.lua
	lockTTLSrc string
	//go:embed lock_purge.lua
	lockPurgeSrc string

	lockAcquire = redis.NewScript(lockAcquireSrc)
	lockFence   = redis.NewScript(lockFenceSrc)
	lockRelease = redis.NewScript(lockReleaseSrc)
	lockExtend  = redis.NewScript(lockExtendSrc)
	lockTTL     = redis.NewScript(lockTTLSrc)
	lockPurge   = redis.NewScript(lockPurgeSrc)
)

// LockOptions are the settings of a [Lock]. The zero value means the defaults.
type LockOptions struct {
	// Options are the common settings. Options.Timeout bounds each master's
	// round trip; the time an acquisition takes is subtracted from its
	// validity, so with masters that may hang, keep it well under TTL.
	Options

	// TTL is how long the masters keep the lock when its holder neither
	// extends nor releases it, and the length of each extension by the
	// watchdog. Default [DefaultLockTTL] (10s); at least a millisecond.
	TTL time.Duration

	// Watchdog, when true, keeps an acquired lock alive: a timer extends it
	// by TTL every TTL/3 until Unlock (or until extensions fail for longer
	// than the remaining validity, and the lock is lost). No goroutine runs
	// between renewals, and none is left after Unlock. Default false: the
	// lock lasts TTL unless Extend is called.
	Watchdog bool

	// RetryDelay is the first delay between two attempts of Lock. The delay
	// doubles after each failed attempt up to MaxRetryDelay, and each wait is
	// drawn at random from [d/2, d] so that contenders spread out. Default
	// [DefaultRetryDelay] (10ms).
	RetryDelay time.Duration

	// MaxRetryDelay caps the delay between two attempts of Lock. Default
	// [DefaultMaxRetryDelay] (200ms), or RetryDelay if that is larger.
	MaxRetryDelay time.Duration
}

// Lock is a distributed lock on N independent Redis masters (the Redlock
// algorithm): it is held when a quorum of N/2+1 masters hold its key with the
// holder's random token. N = 1 is a plain single-Redis lock.
//
// A Lock value is like a [sync.Mutex]: it holds at most one acquisition at a
// time, and its methods are safe for concurrent use. Goroutines that should
// exclude each other may share one value or use one value each (values are
// cheap); only the value that took the lock can release or extend it.
//
// # Validity
//
// Each acquisition is valid for TTL minus the clock drift allowance
// (TTL/100 + 2ms) minus the time the acquisition took; [Lock.Validity] tells
// what is left, and [Lock.Lost] is closed when it runs out without an
// extension. Mutual exclusion holds as long as the holder finishes within its
// validity and the masters keep their data: a master that restarts without
// persistence (appendfsync always) must stay down for TTL first, or it may
// grant the lock twice.
//
// # Fencing
//
// A holder can be paused (GC, swapping, a stopped VM) past its validity and
// then act as if it still held the lock. Every acquisition therefore returns
// a fencing token, and a resource that records the highest token it has seen
// and rejects lower ones (see [FenceChecker]) is safe even then.
//
// The token is monotonic: an acquisition that starts after another has
// returned gets a larger token. Each master keeps a counter per lock that it
// increments in the same script that takes the key. The holder's token T is
// the largest counter over the masters that granted it, and before returning
// the holder raises the counter to T on granting masters that are behind (in
// a script that first checks they still hold its key); it succeeds only once
// a quorum Q of masters have a counter of at least T. Counters only grow. A
// later acquisition needs its own quorum Q', which shares a master m with Q;
// its script on m ran after the first acquisition returned, when m's counter
// was already at least T, and incremented it, so its token, the largest of
// its counters, is above T. (The second round trip is needed only when the
// masters' counters differ, after failures: without it, the largest counter
// of one quorum could exceed every counter of the next.) Counters never
// expire; a master that loses its data lowers them, so the same persistence
// requirement applies.
//
// # Keys
//
// On each master the lock uses "<prefix>{<name>}:lock" (with a TTL, while
// held), "<prefix>{<name>}:lock:released:<token>" (a release record, for
// [Options.DedupeWindow] after each Unlock) and the fencing counter
// "<prefix>{<name>}:fence", which has no TTL: it must outlive every token a
// resource may still compare against. A program that retires a lock name
// removes its counters with [Lock.Purge].
//
// # Lost replies
//
// Every step survives go-redis' resend of a command whose reply was lost:
// taking the key is checked against the token (a resend finds its own
// token), raising the counter and extending are idempotent, and the
// release leaves a short-lived record so that a resend of a release that
// ran answers "released". Unlock never reports ErrNotHeld for a lock this
// value held; when too few masters answered it returns an error matching
// [ErrUncertain].
type Lock struct {
	masters  []redis.UniversalClient
	name     string
	lockKey  string
	fenceKey string
	opts     LockOptions
	quorum   int

	mu  sync.Mutex
	cur *lease // the acquisition this value holds, nil if none
}

// NewLock returns the lock called name on the given independent masters
// (typically 1, 3 or 5 clients of unrelated Redis servers; not the nodes of
// one Cluster, which replicate asynchronously). It does not talk to Redis.
func NewLock(masters []redis.UniversalClient, name string, opts LockOptions) (*Lock, error) {
	if err := checkMasters(masters); err != nil {
		return nil, err
	}
	opts.Options = opts.Options.withDefaults()
	if err := opts.Options.validate(name); err != nil {
		return nil, err
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultLockTTL
	}
	if opts.TTL < time.Millisecond {
		return nil, fmt.Errorf("%w: lock TTL %v is under a millisecond", ErrInvalidArgument, opts.TTL)
	}
	if opts.RetryDelay == 0 {
		opts.RetryDelay = DefaultRetryDelay
	}
	if opts.MaxRetryDelay == 0 {
		opts.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if opts.RetryDelay < 0 || opts.MaxRetryDelay < 0 {
		return nil, fmt.Errorf("%w: negative retry delay", ErrInvalidArgument)
	}
	opts.MaxRetryDelay = max(opts.MaxRetryDelay, opts.RetryDelay)
	return &Lock{
		masters:  masters,
		name:     name,
		lockKey:  opts.key(name, "lock"),
		fenceKey: opts.key(name, "fence"),
		opts:     opts,
		quorum:   quorum(len(masters)),
	}, nil
}

// Name returns the lock's name.
func (l *Lock) Name() string { return l.name }

// drift is the allowance for clock drift between the masters and this
// process over a lease of ttl.
func drift(ttl time.Duration) time.Duration { return ttl/100 + 2*time.Millisecond }

// TryLock makes one attempt to take the lock and returns its fencing token.
// It returns an error matching [ErrNotObtained] if the lock is held (also
// when this value holds it), and a [*QuorumError] if fewer than a quorum of
// masters answered. A failed attempt releases whatever it took on any master.
func (l *Lock) TryLock(ctx context.Context) (uint64, error) {
	l.mu.Lock()
	old := l.cur
	held := old != nil && !old.ended()
	l.mu.Unlock()
	if held {
		return 0, fmt.Errorf("%w: %q is held by this Lock value", ErrNotObtained, l.name)
	}
	ls, err := l.acquire(ctx)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	if l.cur != nil && l.cur != old {
		// Another goroutine's TryLock on this value took the lock while an
		// earlier acquisition of ours had lapsed: keep theirs.
		l.mu.Unlock()
		l.release(ctx, ls.token, nil)
		return 0, fmt.Errorf("%w: %q is held by this Lock value", ErrNotObtained, l.name)
	}
	l.cur = ls
	l.mu.Unlock()
	l.arm(ls)
	return ls.fence, nil
}

// Lock takes the lock, retrying with jittered exponential backoff
// (LockOptions.RetryDelay, MaxRetryDelay) until it succeeds or ctx ends, and
// returns its fencing token. When ctx ends the error matches
// [ErrNotObtained], ctx.Err() and the last attempt's error (a
// [*QuorumError] when too few masters answered). Errors that retrying cannot
// fix, such as [ErrWrongType], are returned at once.
func (l *Lock) Lock(ctx context.Context) (uint64, error) {
	delay := l.opts.RetryDelay
	var last error // the last attempt's error
	for {
		if err := ctx.Err(); err != nil {
			return 0, l.gaveUp(last, err)
		}
		fence, err := l.TryLock(ctx)
		if err == nil {
			return fence, nil
		}
		if !errors.Is(err, ErrNotObtained) && !errors.Is(err, ErrQuorum) {
			return 0, err
		}
		last = err
		wait := delay/2 + mrand.N(delay/2+1)
		delay = min(2*delay, l.opts.MaxRetryDelay)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, l.gaveUp(last, ctx.Err())
		case <-t.C:
		}
	}
}

// gaveUp is Lock's error when ctx ended: ErrNotObtained, with the last
// attempt's error and the context's.
func (l *Lock) gaveUp(last, ctxErr error) error {
	if errors.Is(last, ErrNotObtained) {
		return errors.Join(last, ctxErr)
	}
	return fmt.Errorf("%w: %q: %w", ErrNotObtained, l.name, errors.Join(last, ctxErr))
}

// acquire runs one Redlock attempt: take the key and count on every master,
// then, if a quorum granted it, bring the lagging counters of the granting
// masters up to the token.
func (l *Lock) acquire(ctx context.Context) (*lease, error) {
	token := rand.Text()
	ttl := l.opts.TTL
	keys := []string{l.lockKey, l.fenceKey}
	start := time.Now()
	replies := onMasters(ctx, l.opts.Options, l.masters, nil, func(ctx context.Context, m redis.UniversalClient) (int64, error) {
		return lockAcquire.Run(ctx, m, keys, token, ttl.Milliseconds()).Int64()
	})
	var answered, granted int
	var fence int64
	var hard error // an error that retrying cannot fix
	for _, r := range replies {
		switch {
		case r.err != nil:
			if err := redisError(l.lockKey, r.err); errors.Is(err, ErrWrongType) && hard == nil {
				hard = err
			}
		case r.val > 0:
			answered++
			granted++
			fence = max(fence, r.val)
		default:
			answered++
		}
	}
	if granted >= l.quorum && hard == nil {
		if ok := l.syncFence(ctx, token, fence, replies); ok >= l.quorum {
			validUntil := start.Add(ttl - drift(ttl))
			if time.Now().Before(validUntil) {
				return newLease(ctx, token, uint64(fence), validUntil, l.opts.Watchdog), nil
			}
		}
	}
	// Failed: release on every master that granted the key or did not answer
	// (a timed-out script may still have run).
	undo := make([]bool, len(replies))
	for i, r := range replies {
		undo[i] = r.err != nil || r.val > 0
	}
	l.release(ctx, token, undo)
	switch {
	case hard != nil:
		return nil, hard
	case answered < l.quorum:
		return nil, newQuorumError("lock", l.lockKey, replies)
	}
	return nil, fmt.Errorf("%w: %q: granted by %d of %d masters, %d needed (or granted too late)",
		ErrNotObtained, l.name, granted, len(l.masters), l.quorum)
}

// syncFence returns how many granting masters hold the token's key with a
// fencing counter of at least fence, raising the counters that are behind if
// that is needed to reach a quorum.
func (l *Lock) syncFence(ctx context.Context, token string, fence int64, replies []reply[int64]) int {
	var ok int
	behind := make([]bool, len(replies))
	for i, r := range replies {
		switch {
		case r.err != nil || r.val == 0:
		case r.val == fence:
			ok++
		default:
			behind[i] = true
		}
	}
	if ok >= l.quorum {
		return ok
	}
	keys := []string{l.lockKey, l.fenceKey}
	raised := onMasters(ctx, l.opts.Options, l.masters, behind, func(ctx context.Context, m redis.UniversalClient) (int64, error) {
		return lockFence.Run(ctx, m, keys, token, fence).Int64()
	})
	for i, r := range raised {
		if behind[i] && r.err == nil && r.val == 1 {
			ok++
		}
	}
	return ok
}

// release deletes the token's key on the masters selected by use (all when
// nil) and returns how many deleted it and how many answered. It runs even
// if ctx has ended, so that a failed or interrupted attempt leaves no key
// behind: hence context.WithoutCancel (each round trip still has the
// per-operation timeout).
func (l *Lock) release(ctx context.Context, token string, use []bool) (deleted, answered int, replies []reply[int64]) {
	ctx = context.WithoutCancel(ctx)
	keys := []string{l.lockKey, l.lockKey + ":released:" + token}
	window := l.opts.DedupeWindow.Milliseconds()
	replies = onMasters(ctx, l.opts.Options, l.masters, use, func(ctx context.Context, m redis.UniversalClient) (int64, error) {
		return lockRelease.Run(ctx, m, keys, token, window).Int64()
	})
	for _, r := range replies {
		if r.err == nil {
			answered++
			if r.val == 1 {
				deleted++
			}
		}
	}
	return deleted, answered, replies
}

// Purge deletes the lock's fencing counter on every master where the lock
// is not held, for a program that retires the lock's name: the counters
// have no TTL (see the type's documentation). Tokens then start again from
// 1, so purge only when no resource will compare tokens of this lock any
// more (or the resource forgets them too). It returns an error matching
// [ErrNotObtained] if a master holds the lock (the others are purged) and
// a [*QuorumError] if a master did not answer.
func (l *Lock) Purge(ctx context.Context) error {
	keys := []string{l.lockKey, l.fenceKey}
	replies := onMasters(ctx, l.opts.Options, l.masters, nil, func(ctx context.Context, m redis.UniversalClient) (int64, error) {
		return lockPurge.Run(ctx, m, keys).Int64()
	})
	var answered, held int
	for _, r := range replies {
		if r.err == nil {
			answered++
			if r.val == 0 {
				held++
			}
		}
	}
	switch {
	case answered < len(replies):
		return newQuorumError("purge", l.fenceKey, replies)
	case held > 0:
		return fmt.Errorf("%w: purge %q: the lock is held on %d of %d masters", ErrNotObtained, l.name, held, len(replies))
	}
	return nil
}
