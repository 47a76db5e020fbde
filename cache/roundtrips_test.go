package cache

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestColdLoadTwoRoundTrips: a cold GetOrLoad on a warm server (its
// scripts loaded by an earlier load) costs its caller two round trips, the
// script that reads the key or grants the lease and the one that writes
// under the fence and releases it, and the next reads of the key in the
// same Store none. A hook on the caller's client counts the commands sent
// under the caller's context (under key-level tracking the read goes
// through the Store's own connections, which the hook does not see), and
// MONITOR on the server sees the same two scripts. With coherence, the
// own-write check reads the key once more in the background (see own.go),
// off the caller's path; MONITOR sees that one MGET at most.
func TestColdLoadTwoRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range []Coherence{CoherenceNone, CoherenceTracking, CoherenceTrackingKeys} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := context.Background()
			rdb := srv.Client(t)
			rt := &roundTrips{callerOnly: true}
			rdb.AddHook(rt)
			var s *Store
			if mode == CoherenceNone {
				s = newStore(t, rdb, StoreOptions{})
			} else {
				s = coherentStore(t, rdb, mode)
			}
			c := newCache(t, s, Options[string]{LocalTTL: time.Hour})
			load := func(context.Context) (string, error) { return "v", nil }
			_, err := c.GetOrLoad(ctx, "warm-up", load) // loads the scripts
			require.NoError(t, err)
			ctx = context.WithValue(ctx, callerKey{}, true)

			commands := monitor(t, srv)
			n := rt.during(func() {
				v, err := c.GetOrLoad(ctx, "cold", load)
				require.NoError(t, err)
				require.Equal(t, "v", v)
			})
			scripts, checks := 0, 0
			seen := commands()
			for _, cmd := range seen {
				switch {
				case strings.Contains(cmd, `"evalsha"`):
					scripts++
				case strings.Contains(cmd, `"mget" "`+c.RedisKey("cold")+`"`):
					checks++
				default:
					t.Errorf("unexpected command %s", cmd)
				}
			}
			require.Equal(t, 2, scripts, "MONITOR saw %q", seen)
			require.LessOrEqual(t, checks, 1, "MONITOR saw %q", seen)
			if mode == CoherenceNone {
				require.Zero(t, checks)
			}
			if mode == CoherenceTrackingKeys {
				require.Equal(t, int64(1), n, "the caller's client sends the write; the read goes through the Store's own")
			} else {
				require.Equal(t, int64(2), n)
			}

			commands = monitor(t, srv)
			n = rt.during(func() {
				v, err := c.GetOrLoad(ctx, "cold", load)
				require.NoError(t, err)
				require.Equal(t, "v", v)
				v, err = c.Get(ctx, "cold")
				require.NoError(t, err)
				require.Equal(t, "v", v)
			})
			require.Zero(t, n)
			require.Empty(t, commands(), "the next reads reached Redis")
		})
	}
}

// monitor starts MONITOR on srv (on a raw connection: its replies are
// status lines) and returns a function that ends it and returns the
// commands clients sent meanwhile, in MONITOR's format: not those scripts
// ran, nor the streams' health pings, nor its own markers.
func monitor(t *testing.T, srv *redistest.Server) func() []string {
	t.Helper()
	ctx := context.Background()
	conn, err := net.Dial("tcp", srv.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = conn.Write([]byte("MONITOR\r\n"))
	require.NoError(t, err)
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		r := bufio.NewReader(conn)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			lines <- strings.TrimSpace(l)
		}
	}()
	require.Equal(t, "+OK", <-lines)
	marker := srv.Client(t)
	until := func(word string) []string {
		require.NoError(t, marker.Echo(ctx, word).Err())
		var out []string
		for l := range lines {
			switch {
			case strings.Contains(l, `"echo" "`+word+`"`):
				return out
			case strings.Contains(l, " lua] "), strings.Contains(l, `"ping"`), strings.Contains(l, `"PING"`):
			default:
				out = append(out, l)
			}
		}
		t.Fatal("MONITOR ended")
		return nil
	}
	until("tc-monitor-begin")
	return func() []string {
		out := until("tc-monitor-end")
		_ = conn.Close()
		return out
	}
}
