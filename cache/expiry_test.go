package cache

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/redistest"
)

// header returns the envelope header Redis holds for key.
func header(t *testing.T, rdb redis.UniversalClient, rkey string) codec.Header {
	t.Helper()
	raw, err := rdb.Get(context.Background(), rkey).Bytes()
	require.NoError(t, err)
	h, _, err := codec.Open(raw, 1<<20)
	require.NoError(t, err)
	return h
}

func TestExpiryOptions(t *testing.T) {
	s := newStore(t, nil, StoreOptions{})
	for name, o := range map[string]Options[string]{
		"negative TTL":          {TTL: -2},
		"NoExpiry and SWR":      {TTL: NoExpiry, StaleWhileRevalidate: time.Second},
		"NoExpiry and SIE":      {TTL: NoExpiry, StaleIfError: time.Second},
		"NoExpiry and Sliding":  {TTL: NoExpiry, Sliding: true},
		"sub-ms NegativeTTL":    {TTL: NoExpiry, NegativeTTL: time.Microsecond},
		"sub-ms TTL":            {TTL: time.Microsecond, Sliding: true},
		"Jitter out of range":   {TTL: NoExpiry, Jitter: 1},
		"negative NegativeTTL":  {TTL: NoExpiry, NegativeTTL: -1},
		"negative stale window": {Sliding: true, StaleIfError: -1},
	} {
		_, err := New(s, uniqueNS(t), o)
		require.ErrorIs(t, err, ErrInvalidOptions, name)
	}
	for name, o := range map[string]Options[string]{
		"NoExpiry":             {TTL: NoExpiry},
		"NoExpiry, jitter":     {TTL: NoExpiry, Jitter: 0.5, NegativeTTL: time.Second},
		"Sliding":              {Sliding: true},
		"Sliding, SWR, jitter": {TTL: time.Minute, Sliding: true, StaleWhileRevalidate: time.Second, Jitter: 0.1},
	} {
		_, err := New(s, uniqueNS(t), o)
		require.NoError(t, err, name)
	}
}

// TestNoExpiry: values written with NoExpiry (by Set, SetMany and a load)
// have no Redis TTL and no expiry in their envelope, and are served
// whatever the time; the local copy is still bounded by LocalTTL.
// Negative entries keep their NegativeTTL.
func TestNoExpiry(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := d.client(t)
			s := coherentStore(t, rdb, CoherenceAuto)
			c := newCache(t, s, Options[string]{TTL: NoExpiry, NegativeTTL: time.Hour, Codec: codec.String()})
			require.NoError(t, c.Set(ctx, "set", "v"))
			require.NoError(t, c.SetMany(ctx, map[string]string{"many-1": "v", "many-2": "v"}))
			got, err := c.GetOrLoad(ctx, "loaded", func(context.Context) (string, error) { return "v", nil })
			require.NoError(t, err)
			require.Equal(t, "v", got)
			ks := []string{"set", "many-1", "many-2", "loaded"}
			for _, k := range ks {
				ttl, err := rdb.PTTL(ctx, c.RedisKey(k)).Result()
				require.NoError(t, err)
				require.Equal(t, time.Duration(-1), ttl, "%s: PTTL -1 (no expiry)", k)
				require.Equal(t, codec.Header{}, header(t, rdb, c.RedisKey(k)), k)
			}
			_, err = c.GetOrLoad(ctx, "none", func(context.Context) (string, error) { return "", ErrNotFound })
			require.ErrorIs(t, err, ErrNotFound)
			ttl, err := rdb.PTTL(ctx, c.RedisKey("none")).Result()
			require.NoError(t, err)
			require.Greater(t, ttl, 59*time.Minute, "a negative entry keeps its NegativeTTL")

			// Ten years on (for the local tier: Redis keeps no TTL to
			// pass), the local copies are gone, and the values are
			// still fresh in Redis.
			s.clock.advance(10 * 365 * 24 * time.Hour)
			before := c.Stats()
			for _, k := range ks {
				_, ok := c.GetLocal(k)
				require.False(t, ok, "%s: the local copy outlived LocalTTL", k)
				got, err := c.Get(ctx, k)
				require.NoError(t, err, k)
				require.Equal(t, "v", got, k)
			}
			require.Equal(t, before.RemoteHits+uint64(len(ks)), c.Stats().RemoteHits)
			// Another process reads them too.
			c2, err := New(newStore(t, rdb, StoreOptions{}), c.Namespace(), Options[string]{TTL: NoExpiry, Codec: codec.String()})
			require.NoError(t, err)
			m, err := c2.GetMany(ctx, ks)
			require.NoError(t, err)
			require.Len(t, m, len(ks))
		})
	}
}

// slidingStore returns a tracking Store whose local copies may live two
// hours, so that a test can move its clock 40 minutes on and find a value
// of a one-hour TTL still kept locally but due for renewal. hook, if not
// nil, is its renewHook.
func slidingStore(t *testing.T, rdb redis.UniversalClient, opts StoreOptions, hook func(rkey string)) *Store {
	opts.MaxStaleness = 2 * time.Hour
	s, err := NewStore(rdb, opts)
	require.NoError(t, err)
	s.renewHook = hook
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(ctx))
	return s
}

var slidingHour = Options[string]{TTL: time.Hour, LocalTTL: 2 * time.Hour, Sliding: true, Codec: codec.String()}

// TestSlidingOutlivesTTL: a value read every TTL/8 lives three TTLs and
// more, every read a local hit, renewed about every TTL/2; one not read
// expires at its TTL.
func TestSlidingOutlivesTTL(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := d.client(t)
			s := coherentStore(t, rdb, CoherenceAuto)
			// Redis expires on its own clock, so this test waits in real
			// time; a renewal has TTL/2 (500ms) to land.
			const ttl = time.Second
			c := newCache(t, s, Options[string]{TTL: ttl, Sliding: true, Codec: codec.String()})
			require.NoError(t, c.Set(ctx, "hot", "v"))
			require.NoError(t, c.Set(ctx, "cold", "v"))
			start := time.Now()
			reads := 0
			for time.Since(start) < 3*ttl {
				time.Sleep(ttl / 8) // the interval between two accesses
				got, err := c.Get(ctx, "hot")
				require.NoError(t, err, "read %d, %v after the write", reads, time.Since(start))
				require.Equal(t, "v", got)
				reads++
			}
			st := c.Stats()
			require.GreaterOrEqual(t, st.Renewals, uint64(3), "renewals")
			require.Zero(t, st.RenewalsRefused)
			require.LessOrEqual(t, st.RemoteHits, uint64(2), "the renewals' echoes sent reads to Redis")
			require.GreaterOrEqual(t, st.LocalHits, uint64(reads-2))
			require.Greater(t, rdb.PTTL(ctx, c.RedisKey("hot")).Val(), time.Duration(0))
			// The cold one expired in both tiers long ago.
			require.Zero(t, rdb.Exists(ctx, c.RedisKey("cold")).Val())
			_, err := c.Get(ctx, "cold")
			require.ErrorIs(t, err, ErrNotFound)
			// Left alone (no read: a read would renew it), the hot one
			// expires too.
			eventually(t, func() bool { return rdb.Exists(ctx, c.RedisKey("hot")).Val() == 0 }, "hot never expired")
			_, err = c.Get(ctx, "hot")
			require.ErrorIs(t, err, ErrNotFound)
		})
	}
}

// TestSlidingRenewsOnce: a read with more than TTL/2 left renews nothing;
// past it, reads stay local and one renewal makes the value fresh for TTL
// in Redis (its TTL and its envelope). A remote hit renews too.
func TestSlidingRenewsOnce(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	s := slidingStore(t, rdb, StoreOptions{}, nil)
	c := newCache(t, s, slidingHour)
	require.NoError(t, c.Set(ctx, "k", "v"))
	h0 := header(t, rdb, c.RedisKey("k"))
	for range 10 {
		_, err := c.Get(ctx, "k")
		require.NoError(t, err)
	}
	require.Zero(t, c.Stats().Renewals, "renewed with more than half the TTL left")

	s.clock.advance(40 * time.Minute)
	for range 10 {
		got, err := c.Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "v", got)
	}
	eventually(t, func() bool { return c.Stats().Renewals == 1 }, "no renewal")
	st := c.Stats()
	require.Equal(t, uint64(20), st.LocalHits)
	require.Zero(t, st.RemoteHits)
	h1 := header(t, rdb, c.RedisKey("k"))
	require.Greater(t, h1.SoftExpiry, h0.SoftExpiry)
	require.Greater(t, rdb.PTTL(ctx, c.RedisKey("k")).Val(), 59*time.Minute)
	// Its own renewal's echo leaves this Store its copy.
	eventually(t, func() bool { _, ok := c.GetLocal("k"); return ok && s.own.n.Load() == 0 }, "the renewed copy is not kept")

	// Another Store's remote hit renews what it reads past TTL/2.
	s2 := slidingStore(t, rdb, StoreOptions{}, nil)
	c2, err := New(s2, c.Namespace(), slidingHour)
	require.NoError(t, err)
	require.NoError(t, rdb.PExpire(ctx, c.RedisKey("k"), 10*time.Minute).Err()) // a TTL the next read must renew
	raw := rdb.Get(ctx, c.RedisKey("k")).Val()
	now := time.Now().UnixMilli()
	b, err := codec.EncodeValue(nil, codec.Header{SoftExpiry: now + 10*60_000, HardExpiry: now + 10*60_000}, codec.String(), "w", 0)
	require.NoError(t, err)
	require.NoError(t, rdb.Set(ctx, c.RedisKey("k"), b, 10*time.Minute).Err())
	_ = raw
	got, err := c2.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "w", got)
	eventually(t, func() bool { return c2.Stats().Renewals == 1 }, "the remote hit renewed nothing")
	require.Greater(t, rdb.PTTL(ctx, c.RedisKey("k")).Val(), 59*time.Minute)
	eventually(t, func() bool { got, err := c.Get(ctx, "k"); return err == nil && got == "w" }, "the first Store kept its old copy")
}

// TestSlidingRenewalRaces: a renewal that reaches Redis after the value
// was overwritten or deleted (the hook runs the write between the read
// and the renewal) changes nothing: the new value keeps its own TTL, the
// deleted one stays deleted.
func TestSlidingRenewalRaces(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			for _, race := range []string{"overwrite", "delete"} {
				t.Run(race, func(t *testing.T) {
					ctx := context.Background()
					rdb := d.client(t)
					other := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{TTL: 10 * time.Minute, Codec: codec.String()})
					done := make(chan struct{})
					var once sync.Once
					s := slidingStore(t, rdb, StoreOptions{}, func(rkey string) {
						once.Do(func() { // the first renewal; later ones renew what they read
							defer close(done)
							if race == "overwrite" {
								require.NoError(t, other.Set(ctx, "k", "new"))
							} else {
								require.NoError(t, other.Delete(ctx, "k"))
							}
						})
					})
					c, err := New(s, other.Namespace(), slidingHour)
					require.NoError(t, err)
					require.NoError(t, c.Set(ctx, "k", "old"))
					s.clock.advance(40 * time.Minute)
					got, err := c.Get(ctx, "k") // a local hit, which sends the renewal
					require.NoError(t, err)
					require.Equal(t, "old", got)
					<-done
					eventually(t, func() bool { return c.Stats().RenewalsRefused == 1 }, "the renewal was not refused")
					require.Zero(t, c.Stats().Renewals)
					rk := c.RedisKey("k")
					if race == "delete" {
						require.Zero(t, rdb.Exists(ctx, rk).Val(), "the renewal brought the value back")
						eventually(t, func() bool { _, err := c.Get(ctx, "k"); return errors.Is(err, ErrNotFound) }, "the old value is still served")
						return
					}
					require.Equal(t, "new", string(rdb.Get(ctx, rk).Val()[codec.HeaderSize:]))
					ttl := rdb.PTTL(ctx, rk).Val()
					require.LessOrEqual(t, ttl, 10*time.Minute, "the renewal extended the new value")
					require.Greater(t, ttl, 9*time.Minute)
					eventually(t, func() bool { got, err := c.Get(ctx, "k"); return err == nil && got == "new" }, "the old value is still served")
				})
			}
		})
	}
}

// TestSlidingLostReply: the reply to a renewal is lost and go-redis sends
// it again (which refuses itself: the first run renewed the entry). The
// value is renewed once, still read right, here and elsewhere.
func TestSlidingLostReply(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	px := faultproxy.Start(t, srv.Addr)
	// One connection, so that the renewal is the command the proxy drops.
	rdb := redis.NewClient(&redis.Options{Addr: px.Addr, PoolSize: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	direct := srv.Client(t)
	s := slidingStore(t, rdb, StoreOptions{invalidationAddr: func(string) string { return srv.Addr }}, func(string) {
		// The next connection answers its handshake (3 commands) and one
		// more, then loses the reply to the renewal.
		px.DropReplies(5)
		px.Cut()
		require.NoError(t, rdb.Ping(ctx).Err())
	})
	// The resend follows a reconnect and go-redis' backoff; a loaded
	// machine once took past the default 1s Timeout for both, which the
	// renewal then reported as an error. The Timeout here is a hang guard.
	opts := slidingHour
	opts.Timeout = 30 * time.Second
	c := newCache(t, s, opts)
	require.NoError(t, c.Set(ctx, "k", "v"))
	h0 := header(t, direct, c.RedisKey("k"))
	s.clock.advance(40 * time.Minute)
	got, err := c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v", got)
	eventually(t, func() bool { st := c.Stats(); return st.Renewals+st.RenewalsRefused+st.RedisErrors > 0 }, "the renewal did not end")
	px.DropReplies(0)
	require.Equal(t, int64(1), px.Dropped(), "replies lost")
	st := c.Stats()
	require.Equal(t, uint64(1), st.RenewalsRefused, "the resend refuses itself")
	require.Zero(t, st.RedisErrors)
	h1 := header(t, direct, c.RedisKey("k"))
	require.Greater(t, h1.SoftExpiry, h0.SoftExpiry, "the first run renewed the entry")
	require.Equal(t, "v", string(direct.Get(ctx, c.RedisKey("k")).Val()[codec.HeaderSize:]))
	require.Greater(t, direct.PTTL(ctx, c.RedisKey("k")).Val(), 59*time.Minute)
	got, err = c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v", got)
}
