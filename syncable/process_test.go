package syncable_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/syncable"
)

// The environment of a helper process: helperEnv holds its id; the others
// the server's address and the dict's name.
const (
	helperEnv  = "SYNCABLE_TEST_HELPER"
	helperAddr = "SYNCABLE_TEST_ADDR"
	helperName = "SYNCABLE_TEST_NAME"
)

// helperProcess is a second process for TestTwoProcessesConflict, run by
// TestMain. It loads the dict, says "loaded", and then, for each "sync"
// line on stdin, counts once more and records its id, then syncs and says
// "ok" or "conflict"; for a "retry" line it does the same in a With loop
// that runs again on ErrConflict, and says "ok".
func helperProcess() int {
	ctx := context.Background()
	id := os.Getenv(helperEnv)
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(helperAddr)})
	defer rdb.Close()
	d, err := syncable.NewDict[string, int](rdb, os.Getenv(helperName), syncable.DictOptions[string, int]{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	if err := d.Load(ctx); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("loaded")
	edit := func() error {
		n, _ := d.Get("count")
		d.Set("count", n+1)
		d.Set(id, n+1)
		return nil
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "sync":
			_ = edit()
			err = d.Sync(ctx)
		case "retry":
			for err = errors.New("start"); err != nil; {
				err = syncable.With(ctx, d, edit)
				if err != nil && !errors.Is(err, syncable.ErrConflict) {
					break
				}
			}
		}
		switch {
		case err == nil:
			fmt.Println("ok")
		case errors.Is(err, syncable.ErrConflict):
			fmt.Println("conflict")
		default:
			fmt.Println("error:", err)
		}
	}
	return 0
}

// helper is a running helper process.
type helper struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startHelper(t *testing.T, id, addr, name string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+id, helperAddr+"="+addr, helperName+"="+name)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
	})
	return &helper{cmd: cmd, in: in, out: bufio.NewScanner(out)}
}

// line returns the helper's next line of output.
func (h *helper) line(t *testing.T) string {
	t.Helper()
	require.True(t, h.out.Scan(), "helper exited: %v", h.out.Err())
	return strings.TrimSpace(h.out.Text())
}

func (h *helper) send(t *testing.T, cmd string) {
	t.Helper()
	_, err := io.WriteString(h.in, cmd+"\n")
	require.NoError(t, err)
}

// TestTwoProcessesConflict: two processes load the same dict, both modify
// it, and sync one after the other: the first Sync wins, the second gets
// ErrConflict and writes nothing; run again in a With loop, it loads the
// first one's result and adds to it.
func TestTwoProcessesConflict(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	cd, err := collections.NewDict[string, int](rdb, "shared", collections.DictOptions[string, int]{})
	require.NoError(t, err)
	require.NoError(t, cd.Set(ctx, "count", 10))

	a := startHelper(t, "a", srv.Addr, "shared")
	b := startHelper(t, "b", srv.Addr, "shared")
	require.Equal(t, "loaded", a.line(t))
	require.Equal(t, "loaded", b.line(t))

	a.send(t, "sync")
	require.Equal(t, "ok", a.line(t))
	b.send(t, "sync")
	require.Equal(t, "conflict", b.line(t), "the second process's Sync")

	got, err := cd.ToMap(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"count": 11, "a": 11}, got, "Redis after the conflict: a's Sync only")

	b.send(t, "retry")
	require.Equal(t, "ok", b.line(t))
	got, err = cd.ToMap(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"count": 12, "a": 11, "b": 12}, got, "Redis after b's With loop")
}
