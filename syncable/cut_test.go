package syncable_test

import (
	"context"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/syncable"
)

// The tests of this file interrupt a Sync of a large dict while it is on
// its way to Redis, and check that Redis is left with the old dict or the
// new one, never a mix. A Sync is one script, which Redis runs only once it
// has received it whole and runs without interruption, so there are only
// two outcomes: cut before the last byte arrived (old) or after (new).

// bigOpts are the options of the large dicts: String codecs, and a round
// trip timeout that a slowed-down 10 MB Sync under the race detector never
// reaches.
var bigOpts = syncable.DictOptions[string, string]{LoadChunk: 10_000, DictOptions: collections.DictOptions[string, string]{
	Options:  collections.Options{Timeout: time.Minute},
	KeyCodec: codec.String(), Codec: codec.String(),
}}

// fill sets every one of n keys to a value of generation gen.
func fill(d *syncable.Dict[string, string], n, gen int) {
	g := "generation " + strconv.Itoa(gen) + " of value "
	for i := range n {
		s := strconv.Itoa(i)
		d.Set("key:"+s, g+s)
	}
}

// generation returns the generation every value of the hash has, or fails
// t when they differ (a mix) or the hash does not hold n fields. A script
// counts the values of each generation on the server: reading 200 000
// values into the test would cost more than the Sync.
func generation(t *testing.T, rdb *redis.Client, key string, n int) int {
	t.Helper()
	const count = `
local gens = {}
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  local g = string.match(v, '^generation (%d+) of value %d+$') or 'malformed'
  gens[g] = (gens[g] or 0) + 1
end
local out = {}
for g, c in pairs(gens) do
  out[#out + 1] = g .. '=' .. c
end
return out`
	res, err := rdb.Eval(context.Background(), count, []string{key}).StringSlice()
	require.NoError(t, err)
	require.Len(t, res, 1, "values of several generations in Redis, a mix: %v", res)
	g, c, _ := strings.Cut(res[0], "=")
	require.Equal(t, strconv.Itoa(n), c, "fields in Redis")
	gen, err := strconv.Atoi(g)
	require.NoError(t, err, "values in Redis: %v", res)
	return gen
}

// received returns how many bytes of its current command the server holds
// for the client called name (query buffer and arguments parsed so far),
// from CLIENT LIST; 0 when it has no such client.
func received(ctx context.Context, admin *redis.Client, name string) int {
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(list, "\n") {
		fields := strings.Fields(line)
		if !containsField(fields, "name="+name) {
			continue
		}
		total := 0
		for _, f := range fields {
			for _, p := range []string{"qbuf=", "argv-mem="} {
				if v, ok := strings.CutPrefix(f, p); ok {
					n, _ := strconv.Atoi(v)
					total += n
				}
			}
		}
		return total
	}
	return 0
}

func containsField(fields []string, want string) bool {
	for _, f := range fields {
		if f == want {
			return true
		}
	}
	return false
}

// TestSyncCutMidWrite syncs a 100 000-field dict through a fault proxy that
// is cut while the Sync is in flight, at a different moment each time:
// early (the server holds the first bytes of the script's arguments),
// midway, and after Redis applied it (its version key changed: the reply
// may or may not be lost). After each cut, Redis holds every old value or
// every new one. The cuts during the transfer must leave the old dict
// (the script cannot have run), the cut after the version changed the new
// one. (The proxy slows the transfer down to some 20 MB/s, so that only a
// stall of the test of a few hundred milliseconds between its observation
// and the cut could make a cut aimed at the transfer come too late.)
func TestSyncCutMidWrite(t *testing.T) {
	ctx := context.Background()
	const n = 100_000
	srv := redistest.Start(t)
	admin := srv.Client(t)
	px := faultproxy.Start(t, srv.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: px.Addr, ClientName: "syncer", MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })

	d, err := syncable.NewDict(rdb, "big", bigOpts)
	require.NoError(t, err)
	fill(d, n, 0)
	require.NoError(t, d.Sync(ctx))
	require.Equal(t, 0, generation(t, admin, d.Key(), n))
	// Slow the transfer of the ~6 MB command down to a few hundred
	// milliseconds, so that a cut lands where it is aimed.
	px.SetLatency(100 * time.Millisecond)

	redisGen := 0
	for i, when := range []string{"early", "midway", "after"} {
		gen := i + 1
		fill(d, n, gen)
		before, err := admin.Get(ctx, d.Key()+":syncver").Result()
		require.NoError(t, err)

		done := make(chan error, 1)
		go func() { done <- d.Sync(ctx) }()
		var at int
		var syncErr error
		cut := false
		for !cut {
			select {
			case syncErr = <-done:
				t.Fatalf("%s: Sync returned %v before the cut", when, syncErr)
			default:
			}
			switch when {
			case "early":
				at = received(ctx, admin, "syncer")
				cut = at > 0
			case "midway":
				at = received(ctx, admin, "syncer")
				cut = at > 2<<20
			case "after":
				v, err := admin.Get(ctx, d.Key()+":syncver").Result()
				cut = err == nil && v != before
			}
		}
		px.Cut()
		syncErr = <-done
		got := generation(t, admin, d.Key(), n)
		require.Contains(t, []int{redisGen, gen}, got, "%s: neither old nor new", when)
		t.Logf("cut %-6s at %8d bytes received: Sync returned %v; Redis holds generation %d (old %d, new %d)",
			when, at, syncErr, got, redisGen, gen)
		if when == "after" {
			require.Equal(t, gen, got, "cut after the version changed")
		} else {
			require.Error(t, syncErr, "a cut during the transfer fails the Sync")
			require.Equal(t, redisGen, got, "a cut during the transfer leaves the old dict")
		}
		redisGen = got
	}
}

// TestSyncAfterLostReply: a Sync whose reply is lost (the connection is cut
// after Redis applied it) returns an error, and the next Sync, which finds
// that Sync's version in Redis, takes it as its base and succeeds: two
// round trips, that once. For a Dict and for a List.
func TestSyncAfterLostReply(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	admin := srv.Client(t)
	px := faultproxy.Start(t, srv.Addr)
	rdb, rt := counted(t, redis.NewClient(&redis.Options{Addr: px.Addr, MaxRetries: -1, ContextTimeoutEnabled: true}))

	// lose syncs c while the proxy holds traffic back for half a second, and cuts
	// the connection as soon as Redis holds the new version: the reply is
	// still in the proxy.
	lose := func(c syncable.Syncer, verKey string, wantErr bool) {
		t.Helper()
		before := admin.Get(ctx, verKey).Val()
		px.SetLatency(500 * time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- c.Sync(ctx) }()
		require.Eventually(t, func() bool {
			v, err := admin.Get(ctx, verKey).Result()
			return err == nil && v != before
		}, time.Minute, time.Millisecond)
		px.Cut()
		if err := <-done; wantErr {
			require.ErrorIs(t, err, collections.ErrUncertain, "the reply was lost")
		} else {
			require.NoError(t, err, "go-redis sent the script again, which found its own version")
		}
		px.SetLatency(0)
	}

	d, err := syncable.NewDict(rdb, "lost", strOpts)
	require.NoError(t, err)
	d.Set("a", "1")
	d.Set("b", "1")
	require.NoError(t, d.Sync(ctx))
	d.Set("a", "2")
	lose(d, d.Key()+":syncver", true)
	require.Equal(t, map[string]string{"a": "2", "b": "1"}, rawHash(t, admin, d.Key()), "applied")
	d.Set("b", "3")
	d.Delete("a")
	require.Equal(t, int64(2), rt.count(func() { require.NoError(t, d.Sync(ctx)) }), "the Sync after the lost reply")
	require.Equal(t, map[string]string{"b": "3"}, rawHash(t, admin, d.Key()))
	require.Equal(t, int64(1), rt.count(func() { require.NoError(t, d.Sync(ctx)) }), "and the next")

	l, err := syncable.NewList[int](rdb, "lost", syncable.ListOptions[int]{})
	require.NoError(t, err)
	l.Append(1, 2, 3)
	require.NoError(t, l.Sync(ctx))
	l.Append(4)
	lose(l, l.Key()+":syncver", true)
	l.Pop(0)
	require.NoError(t, l.Sync(ctx))
	require.Equal(t, []int{2, 3, 4}, redisList(t, admin, l.Key()))

	// A Sync that never reached Redis (the proxy swallows it; the context
	// ends) leaves no trace: the next one is normal, one round trip.
	d.Set("c", "4")
	px.Blackhole()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	require.Error(t, d.Sync(short))
	cancel()
	px.Heal()
	require.Equal(t, int64(1), rt.count(func() { require.NoError(t, d.Sync(ctx)) }))
	require.Equal(t, map[string]string{"b": "3", "c": "4"}, rawHash(t, admin, d.Key()))

	// With go-redis's retries (its default), the lost reply is handled by
	// the retry: the script, sent again, finds that it was applied.
	retryClient := redis.NewClient(&redis.Options{Addr: px.Addr})
	t.Cleanup(func() { _ = retryClient.Close() })
	retrying, err := syncable.NewDict(retryClient, "lost", strOpts)
	require.NoError(t, err)
	require.NoError(t, retrying.Load(ctx))
	retrying.Set("d", "5")
	lose(retrying, retrying.Key()+":syncver", false)
	require.Equal(t, map[string]string{"b": "3", "c": "4", "d": "5"}, rawHash(t, admin, d.Key()))
	retrying.Set("e", "6")
	require.NoError(t, retrying.Sync(ctx))
}

// TestSyncKilledServer kills the redis-server while a Sync is in flight and
// restarts it. The servers of internal/redistest have no persistence (a
// restarted one is empty, which would show nothing), so this test runs its
// own redis-server with an append-only file fsynced at every write
// (appendfsync always): what Redis acknowledged survives the kill, and a
// script's writes are one MULTI/EXEC block in the file, which a restart
// replays whole or, when the kill truncated it, not at all. After each
// restart Redis holds the old dict or the new one.
func TestSyncKilledServer(t *testing.T) {
	ctx := context.Background()
	const n = 50_000
	srv := startAOF(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.addr})
	t.Cleanup(func() { _ = admin.Close() })
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr, ClientName: "syncer", MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })

	d, err := syncable.NewDict(rdb, "big", bigOpts)
	require.NoError(t, err)
	fill(d, n, 0)
	require.NoError(t, d.Sync(ctx))
	redisGen := 0
	r := rand.New(rand.NewPCG(1, 2))
	for i, when := range []string{"receiving", "after", "random"} {
		gen := i + 1
		require.NoError(t, d.Load(ctx))
		fill(d, n, gen)
		before := admin.Get(ctx, d.Key()+":syncver").Val()
		done := make(chan error, 1)
		go func() { done <- d.Sync(ctx) }()
		receiving := func() bool { return received(ctx, admin, "syncer") > 0 }
		switch when {
		case "receiving":
			require.Eventually(t, receiving, time.Minute, 100*time.Microsecond)
		case "after":
			require.Eventually(t, func() bool {
				v, err := admin.Get(ctx, d.Key()+":syncver").Result()
				return err == nil && v != before
			}, time.Minute, 100*time.Microsecond)
		case "random":
			require.Eventually(t, receiving, time.Minute, 100*time.Microsecond)
			// Then a random moment of the transfer, the script or the
			// append-only file's write: not a synchronization.
			time.Sleep(time.Duration(r.IntN(200)) * time.Millisecond)
		}
		srv.kill()
		syncErr := <-done
		srv.start()
		got := generation(t, admin, d.Key(), n)
		t.Logf("kill %-9s: Sync returned %v; after the restart Redis holds generation %d (old %d, new %d)",
			when, syncErr, got, redisGen, gen)
		require.Contains(t, []int{redisGen, gen}, got, "neither old nor new")
		if when == "after" {
			require.Equal(t, gen, got, "Redis answered with the new version: it was in the append-only file")
		}
		if syncErr == nil {
			require.Equal(t, gen, got, "an acknowledged Sync survives the kill")
		}
		redisGen = got
	}
}

// aofServer is a redis-server with an append-only file, fsynced at every
// write, that the test kills and restarts.
type aofServer struct {
	t    *testing.T
	bin  string
	dir  string
	addr string
	port int
	cmd  *exec.Cmd
}

func startAOF(t *testing.T) *aofServer {
	t.Helper()
	bin, err := redistest.Binary()
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	s := &aofServer{t: t, bin: bin, dir: t.TempDir(), port: port, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	s.start()
	t.Cleanup(s.kill)
	return s
}

// start starts the server and returns once it answers PING (after it has
// loaded its append-only file).
func (s *aofServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--aof-load-truncated", "yes",
		"--protected-mode", "no", "--loglevel", "warning", "--logfile", filepath.Join(s.dir, "redis.log"))
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(s.t, s.cmd.Start())
	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1})
	defer c.Close()
	require.Eventually(s.t, func() bool { return c.Ping(context.Background()).Err() == nil },
		time.Minute, 10*time.Millisecond, "redis-server with AOF did not come up; see %s", filepath.Join(s.dir, "redis.log"))
}

// kill stops the server at once (SIGKILL) and waits for it to exit.
func (s *aofServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}
