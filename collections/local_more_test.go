package collections_test

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// TestLocalBloom: with Options.Local, Contains, ContainsMany and Len are
// answered from one local copy of the filter's bits, the same answers as
// Redis gives, without a round trip; a foreign add is seen once its
// invalidation arrives, an own add and an own Clear at once; a filter
// stored with other parameters is still ErrConfigMismatch.
func TestLocalBloom(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		cmds := &dsCommands{}
		rdb := countedClient(t, be, cmds)
		store := localStore(t, be, cache.StoreOptions{})
		name := dsName(t)
		o := collections.BloomOptions[int]{Options: collections.Options{Local: store}}
		local := dsMust[*collections.BloomFilter[int]](t)(collections.NewBloomFilter(rdb, name, 1000, 0.01, o))
		remote := dsMust[*collections.BloomFilter[int]](t)(collections.NewBloomFilter(be.client(t), name, 1000, 0.01,
			collections.BloomOptions[int]{}))

		// A filter that does not exist yet contains nothing, locally too.
		n, err := local.Len(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		_, err = remote.AddMany(ctx, intsFrom(0, 300))
		require.NoError(t, err)

		probe := intsFrom(0, 2000) // added, and not (some false positives)
		readAll := func() ([]bool, int64, bool) {
			before := cmds.n.Load()
			got, err := local.ContainsMany(ctx, probe)
			require.NoError(t, err)
			for i, v := range []int{0, 299, 300, 1999} {
				in, err := local.Contains(ctx, v)
				require.NoError(t, err)
				require.Equal(t, got[v], in, "Contains(%d) against ContainsMany (%d)", v, i)
			}
			n, err := local.Len(ctx)
			require.NoError(t, err)
			return got, n, cmds.n.Load() == before
		}
		want, err := remote.ContainsMany(ctx, probe)
		require.NoError(t, err)
		wantN, err := remote.Len(ctx)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			got, n, served := readAll()
			return served && slices.Equal(got, want) && n == wantN
		}, 10*time.Second, time.Millisecond, "never served locally with Redis' answers")

		// A foreign add: seen once its invalidation arrives.
		_, err = remote.Add(ctx, 1_000_000)
		require.NoError(t, err)
		require.Eventually(t, func() bool { in, err := local.Contains(ctx, 1_000_000); return err == nil && in },
			10*time.Second, time.Millisecond, "the foreign add was never seen")
		// Own writes: seen at once.
		_, err = local.Add(ctx, 2_000_000)
		require.NoError(t, err)
		in, err := local.Contains(ctx, 2_000_000)
		require.NoError(t, err)
		require.True(t, in, "an own add was not seen at once")
		require.NoError(t, local.Clear(ctx))
		in, err = local.Contains(ctx, 0)
		require.NoError(t, err)
		require.False(t, in, "an own Clear was not seen at once")
		require.NoError(t, local.Create(ctx, []int{5}))
		in, err = local.Contains(ctx, 5)
		require.NoError(t, err)
		require.True(t, in, "an own Create was not seen at once")
		require.Positive(t, local.Local().Kept)

		// Other parameters: the error, not a copy.
		other := dsMust[*collections.BloomFilter[int]](t)(collections.NewBloomFilter(rdb, name, 50, 0.2, o))
		_, err = other.Contains(ctx, 5)
		require.ErrorIs(t, err, collections.ErrConfigMismatch)
		_, err = other.Len(ctx)
		require.ErrorIs(t, err, collections.ErrConfigMismatch)
	})
}

// TestLocalHyperLogLog: with Options.Local, Len is answered locally, the
// count Redis gives; a foreign add is seen once its invalidation arrives,
// own writes (Add, MergeWith, Clear) at once.
func TestLocalHyperLogLog(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		cmds := &dsCommands{}
		rdb := countedClient(t, be, cmds)
		store := localStore(t, be, cache.StoreOptions{})
		name := dsName(t)
		local := dsMust[*collections.HyperLogLog[int]](t)(collections.NewHyperLogLog(rdb, name,
			collections.HyperLogLogOptions[int]{Options: collections.Options{Local: store}}))
		remote := dsMust[*collections.HyperLogLog[int]](t)(collections.NewHyperLogLog(be.client(t), name,
			collections.HyperLogLogOptions[int]{}))
		_, err := remote.AddMany(ctx, intsFrom(0, 100))
		require.NoError(t, err)
		want, err := remote.Len(ctx)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			before := cmds.n.Load()
			n, err := local.Len(ctx)
			return err == nil && n == want && cmds.n.Load() == before
		}, 10*time.Second, time.Millisecond, "never served locally with Redis' count")

		_, err = remote.AddMany(ctx, intsFrom(100, 200))
		require.NoError(t, err)
		want, err = remote.Len(ctx)
		require.NoError(t, err)
		require.Eventually(t, func() bool { n, err := local.Len(ctx); return err == nil && n == want },
			10*time.Second, time.Millisecond, "the foreign add was never seen")

		n, err := local.MergeWith(ctx, intsFrom(200, 300)...)
		require.NoError(t, err)
		got, err := local.Len(ctx)
		require.NoError(t, err)
		require.Equal(t, n, got, "an own MergeWith was not seen at once")
		_, err = local.Add(ctx, 1_000_000)
		require.NoError(t, err)
		want, err = remote.Len(ctx)
		require.NoError(t, err)
		got, err = local.Len(ctx)
		require.NoError(t, err)
		require.Equal(t, want, got, "an own Add was not seen at once")
		require.NoError(t, local.Clear(ctx))
		got, err = local.Len(ctx)
		require.NoError(t, err)
		require.Zero(t, got, "an own Clear was not seen at once")
		require.Positive(t, local.Local().Kept)
	})
}

// localReader is one structure's read under TestLocalRedisCLI and
// TestLocalOverBudget.
type localReader struct {
	name string
	// fill writes contents of n elements with a client without a Store.
	fill func(ctx context.Context, rdb redis.UniversalClient, name string, n int) error
	// open returns a read (its answer as a string) through Options.Local
	// and the copy's counters, for contents of n elements.
	open func(rdb redis.UniversalClient, name string, n int, o collections.Options) (read func(ctx context.Context) (string, error), stats func() cache.WholeStats)
	// cli is a foreign write of redis-cli (the key is appended) and want
	// what read answers after it.
	cli  func(key string) []string
	key  func(name string) string
	want string
}

// member names element i of the fills.
func member(i int) string { return "member-" + strconv.Itoa(i) }

func members(n int) []string {
	ms := make([]string, n)
	for i := range ms {
		ms[i] = member(i)
	}
	return ms
}

// localReaders are the structures with local reads, on string elements
// encoded as they are (codec.String), so that redis-cli writes them.
var localReaders = []localReader{
	{
		name: "Set",
		fill: func(ctx context.Context, rdb redis.UniversalClient, name string, n int) error {
			s, err := collections.NewSet(rdb, name, collections.SetOptions[string]{Codec: codec.String()})
			if err == nil {
				_, err = s.Add(ctx, members(n)...)
			}
			return err
		},
		open: func(rdb redis.UniversalClient, name string, n int, o collections.Options) (func(context.Context) (string, error), func() cache.WholeStats) {
			s, _ := collections.NewSet(rdb, name, collections.SetOptions[string]{Options: o, Codec: codec.String()})
			return func(ctx context.Context) (string, error) {
				in, err := s.Contains(ctx, "cli")
				n, err2 := s.Len(ctx)
				return strconv.FormatBool(in) + " " + strconv.FormatInt(n, 10), errorsJoin(err, err2)
			}, s.Local
		},
		cli:  func(key string) []string { return []string{"SADD", key, "cli"} },
		key:  func(name string) string { return "tc:{" + name + "}:set" },
		want: "true 4",
	},
	{
		name: "Dict",
		fill: func(ctx context.Context, rdb redis.UniversalClient, name string, n int) error {
			d, err := collections.NewDict(rdb, name, collections.DictOptions[string, string]{KeyCodec: codec.String(), Codec: codec.String()})
			if err != nil {
				return err
			}
			m := make(map[string]string, n)
			for _, k := range members(n) {
				m[k] = k
			}
			return d.SetMany(ctx, m)
		},
		open: func(rdb redis.UniversalClient, name string, n int, o collections.Options) (func(context.Context) (string, error), func() cache.WholeStats) {
			d, _ := collections.NewDict(rdb, name, collections.DictOptions[string, string]{Options: o, KeyCodec: codec.String(), Codec: codec.String()})
			return func(ctx context.Context) (string, error) {
				v, err := d.Get(ctx, member(1))
				n, err2 := d.Len(ctx)
				return v + " " + strconv.FormatInt(n, 10), errorsJoin(err, err2)
			}, d.Local
		},
		cli:  func(key string) []string { return []string{"HSET", key, "member-1", "cli"} },
		key:  func(name string) string { return "tc:{" + name + "}:dict" },
		want: "cli 3",
	},
	{
		name: "Counter",
		fill: func(ctx context.Context, rdb redis.UniversalClient, name string, n int) error {
			c, err := collections.NewCounter(rdb, name, collections.CounterOptions[string]{Codec: codec.String()})
			if err != nil {
				return err
			}
			counts := make(map[string]int64, n)
			for _, k := range members(n) {
				counts[k] = 1
			}
			return c.SetMany(ctx, counts)
		},
		open: func(rdb redis.UniversalClient, name string, n int, o collections.Options) (func(context.Context) (string, error), func() cache.WholeStats) {
			c, _ := collections.NewCounter(rdb, name, collections.CounterOptions[string]{Options: o, Codec: codec.String()})
			return func(ctx context.Context) (string, error) {
				v, err := c.Get(ctx, member(1))
				total, err2 := c.Total(ctx)
				return strconv.FormatInt(v, 10) + " " + strconv.FormatInt(total, 10), errorsJoin(err, err2)
			}, c.Local
		},
		cli:  func(key string) []string { return []string{"HINCRBY", key, "member-1", "5"} },
		key:  func(name string) string { return "tc:{" + name + "}:counter" },
		want: "6 8",
	},
	{
		name: "List",
		fill: func(ctx context.Context, rdb redis.UniversalClient, name string, n int) error {
			l, err := collections.NewList(rdb, name, collections.ListOptions[string]{Codec: codec.String()})
			if err == nil {
				_, err = l.Extend(ctx, members(n)...)
			}
			return err
		},
		open: func(rdb redis.UniversalClient, name string, n int, o collections.Options) (func(context.Context) (string, error), func() cache.WholeStats) {
			l, _ := collections.NewList(rdb, name, collections.ListOptions[string]{Options: o, Codec: codec.String()})
			return func(ctx context.Context) (string, error) {
				v, err := l.Index(ctx, -1)
				n, err2 := l.Len(ctx)
				return v + " " + strconv.FormatInt(n, 10), errorsJoin(err, err2)
			}, l.Local
		},
		cli:  func(key string) []string { return []string{"RPUSH", key, "cli"} },
		key:  func(name string) string { return "tc:{" + name + "}:list" },
		want: "cli 4",
	},
	{
		name: "Deque",
		fill: func(ctx context.Context, rdb redis.UniversalClient, name string, n int) error {
			d, err := collections.NewDeque(rdb, name, collections.DequeOptions[string]{Codec: codec.String()})
			if err == nil {
				_, err = d.Extend(ctx, members(n)...)
			}
			return err
		},
		open: func(rdb redis.UniversalClient, name string, n int, o collections.Options) (func(context.Context) (string, error), func() cache.WholeStats) {
			d, _ := collections.NewDeque(rdb, name, collections.DequeOptions[string]{Options: o, Codec: codec.String()})
			return func(ctx context.Context) (string, error) {
				v, err := d.PeekLeft(ctx)
				n, err2 := d.Len(ctx)
				return v + " " + strconv.FormatInt(n, 10), errorsJoin(err, err2)
			}, d.Local
		},
		cli:  func(key string) []string { return []string{"LPUSH", key, "cli"} },
		key:  func(name string) string { return "tc:{" + name + "}:deque" },
		want: "cli 4",
	},
	{
		name: "SortedSet",
		fill: func(ctx context.Context, rdb redis.UniversalClient, name string, n int) error {
			z, err := collections.NewSortedSet(rdb, name, collections.SortedSetOptions[string]{Codec: codec.String()})
			if err != nil {
				return err
			}
			ms := make([]collections.Scored[string], n)
			for i, m := range members(n) {
				ms[i] = collections.Scored[string]{Value: m, Score: float64(i)}
			}
			return z.SetScores(ctx, ms...)
		},
		open: func(rdb redis.UniversalClient, name string, n int, o collections.Options) (func(context.Context) (string, error), func() cache.WholeStats) {
			z, _ := collections.NewSortedSet(rdb, name, collections.SortedSetOptions[string]{Options: o, Codec: codec.String()})
			return func(ctx context.Context) (string, error) {
				s, err := z.Score(ctx, member(1))
				r, err2 := z.Rank(ctx, member(1))
				return strconv.FormatFloat(s, 'g', -1, 64) + " " + strconv.FormatInt(r, 10), errorsJoin(err, err2)
			}, z.Local
		},
		cli:  func(key string) []string { return []string{"ZADD", key, "10", "member-1"} },
		key:  func(name string) string { return "tc:{" + name + "}:sortedset" },
		want: "10 2",
	},
	{
		name: "MultiMapTTL",
		fill: func(ctx context.Context, rdb redis.UniversalClient, name string, n int) error {
			m, err := collections.NewMultiMapTTL(rdb, name, collections.MultiMapTTLOptions[string]{Codec: codec.String()})
			if err == nil {
				err = m.AddMany(ctx, time.Hour, map[string][]string{"k": members(n)})
			}
			return err
		},
		open: func(rdb redis.UniversalClient, name string, n int, o collections.Options) (func(context.Context) (string, error), func() cache.WholeStats) {
			m, _ := collections.NewMultiMapTTL(rdb, name, collections.MultiMapTTLOptions[string]{Options: o, Codec: codec.String()})
			return func(ctx context.Context) (string, error) {
				vs, err := m.Get(ctx, "k")
				exp, err2 := m.GetWithExpiry(ctx, "k")
				last := ""
				if len(exp) > 0 {
					last = exp[len(exp)-1].Value
				}
				return strconv.Itoa(len(vs)) + " " + last, errorsJoin(err, err2)
			}, m.Local
		},
		// A value expiring in 2100, after the others.
		cli:  func(key string) []string { return []string{"ZADD", key, "4102444800000", "cli"} },
		key:  func(name string) string { return "tc:{" + name + "}:mm:k" },
		want: "4 cli",
	},
	{
		name: "BloomFilter",
		fill: func(ctx context.Context, rdb redis.UniversalClient, name string, n int) error {
			b, err := collections.NewBloomFilter(rdb, name, max(n, 1)*100, 0.01, collections.BloomOptions[string]{Codec: codec.String()})
			if err == nil {
				_, err = b.AddMany(ctx, members(n))
			}
			return err
		},
		open: func(rdb redis.UniversalClient, name string, n int, o collections.Options) (func(context.Context) (string, error), func() cache.WholeStats) {
			b, _ := collections.NewBloomFilter(rdb, name, max(n, 1)*100, 0.01, collections.BloomOptions[string]{Options: o, Codec: codec.String()})
			return func(ctx context.Context) (string, error) {
				in, err := b.Contains(ctx, member(1))
				return strconv.FormatBool(in), err
			}, b.Local
		},
		cli:  func(key string) []string { return []string{"DEL", key} }, // a foreign clear of the bits
		key:  func(name string) string { return "tc:{" + name + "}:bloom" },
		want: "false",
	},
	{
		name: "HyperLogLog",
		fill: func(ctx context.Context, rdb redis.UniversalClient, name string, n int) error {
			h, err := collections.NewHyperLogLog(rdb, name, collections.HyperLogLogOptions[string]{Codec: codec.String()})
			if err == nil {
				_, err = h.AddMany(ctx, members(n))
			}
			return err
		},
		open: func(rdb redis.UniversalClient, name string, n int, o collections.Options) (func(context.Context) (string, error), func() cache.WholeStats) {
			h, _ := collections.NewHyperLogLog(rdb, name, collections.HyperLogLogOptions[string]{Options: o, Codec: codec.String()})
			return func(ctx context.Context) (string, error) {
				n, err := h.Len(ctx)
				return strconv.FormatInt(n, 10), err
			}, h.Local
		},
		cli:  func(key string) []string { return []string{"PFADD", key, "cli"} },
		key:  func(name string) string { return "tc:{" + name + "}:hll" },
		want: "4",
	},
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestLocalRedisCLI: for every structure with local reads, a write by
// redis-cli, another process, is seen by the next read after its
// invalidation; until then the read is served locally.
func TestLocalRedisCLI(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	require.NoError(t, err, "redis-cli (installed with redis-server) is needed for this test")
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		for _, r := range localReaders {
			t.Run(r.name, func(t *testing.T) {
				ctx := context.Background()
				name := dsName(t)
				require.NoError(t, r.fill(ctx, be.client(t), name, 3))
				cmds := &dsCommands{}
				rdb := countedClient(t, be, cmds)
				store := localStore(t, be, cache.StoreOptions{})
				read, stats := r.open(rdb, name, 3, collections.Options{Local: store})
				before, err := read(ctx)
				require.NoError(t, err)
				require.Eventually(t, func() bool {
					n := cmds.n.Load()
					got, err := read(ctx)
					return err == nil && got == before && cmds.n.Load() == n
				}, 10*time.Second, time.Millisecond, "never served locally")

				host, port, _ := strings.Cut(be.addrs[0], ":")
				args := append([]string{"-h", host, "-p", port, "-c"}, r.cli(r.key(name))...)
				out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
				require.NoError(t, err, "redis-cli %v: %s", args, out)
				require.NotContains(t, string(out), "ERR", "redis-cli %v", args)
				require.Eventually(t, func() bool { got, err := read(ctx); return err == nil && got == r.want },
					10*time.Second, time.Millisecond, "redis-cli's write was never seen")
				require.Positive(t, stats().Kept)
			})
		}
	})
}

// TestLocalOverBudget: a structure too large for the local tier is read
// from Redis with the same answers, counted, and not read in full again
// while known too big.
func TestLocalOverBudget(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		for _, r := range localReaders {
			if r.name == "HyperLogLog" {
				continue // its copy is one count, which always fits
			}
			t.Run(r.name, func(t *testing.T) {
				ctx := context.Background()
				name := dsName(t)
				const n = 5000
				// Written before the Store subscribes, so that no
				// invalidation of this write reaches it.
				require.NoError(t, r.fill(ctx, be.client(t), name, n))
				wantRead, _ := r.open(be.client(t), name, n, collections.Options{})
				want, err := wantRead(ctx)
				require.NoError(t, err)
				store := localStore(t, be, cache.StoreOptions{MaxBytes: 64 << 10})
				read, stats := r.open(be.client(t), name, n, collections.Options{Local: store})
				for range 3 {
					got, err := read(ctx)
					require.NoError(t, err)
					require.Equal(t, want, got)
				}
				st := stats()
				require.Equal(t, uint64(1), st.OverBudget, "stats %+v", st)
				require.Equal(t, uint64(0), st.Kept)
				require.Equal(t, uint64(1), st.Loads, "read in full again while known too big")
			})
		}
	})
}
