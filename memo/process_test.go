package memo_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/memo"
)

// Environment of the helper process.
const (
	envRole  = "MEMO_HELPER_ROLE" // "compute" or "read"
	envAddr  = "MEMO_HELPER_REDIS"
	envName  = "MEMO_HELPER_NAME"
	envLang  = "MEMO_HELPER_LANG"
	outMark  = "MEMO_HELPER_RESULT "
	ranMark  = "child ran the function"
	fromWhom = "computed by "
)

// helperReport is what the helper process prints.
type helperReport struct {
	Result result
	Info   memo.Info
}

// TestSeparateProcess shares results with another OS process (this test
// binary, re-executed): the parent reads what the child computed, and the
// child reads what the parent computed, without running the function.
func TestSeparateProcess(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	name := uniqueName()
	var runs atomic.Int64
	f, err := memo.New(newStore(t, srv.Client(t)), name, func(_ context.Context, q query) (result, error) {
		runs.Add(1)
		return result{Text: fromWhom + "parent", N: int(q.UserID)}, nil
	}, memo.Options[result]{})
	require.NoError(t, err)

	// The child computes; the parent hits.
	rep := runHelper(t, srv.Addr, name, "compute", "child-lang")
	require.Equal(t, result{fromWhom + "child", 1}, rep.Result)
	require.Equal(t, uint64(1), rep.Info.Loads)
	got, err := f.Call(ctx, newQuery(1, "child-lang"))
	require.NoError(t, err)
	require.Equal(t, result{fromWhom + "child", 1}, got, "the parent got the child's result")
	require.Zero(t, runs.Load(), "the parent did not run the function")
	require.Equal(t, uint64(1), f.Info().RemoteHits)

	// The parent computes; the child hits.
	_, err = f.Call(ctx, newQuery(1, "parent-lang"))
	require.NoError(t, err)
	require.Equal(t, int64(1), runs.Load())
	rep = runHelper(t, srv.Addr, name, "read", "parent-lang")
	require.Equal(t, result{fromWhom + "parent", 1}, rep.Result, "the child got the parent's result")
	require.Equal(t, memo.Info{Hits: 1}, calls(rep.Info))
	require.Equal(t, uint64(1), rep.Info.RemoteHits)
}

func runHelper(t *testing.T, addr, name, role, lang string) helperReport {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envRole+"="+role, envAddr+"="+addr, envName+"="+name, envLang+"="+lang)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "helper process: %s\n%s", out, stderr.String())
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), outMark); ok {
			var rep helperReport
			require.NoError(t, json.Unmarshal([]byte(line), &rep))
			return rep
		}
	}
	t.Fatalf("helper process printed no result:\n%s\n%s", out, stderr.String())
	return helperReport{}
}

// TestHelperProcess is the other process of TestSeparateProcess. Run
// without its environment, it does nothing.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		return
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(envAddr)})
	defer rdb.Close()
	s, err := cache.NewStore(rdb, cache.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := memo.New(s, os.Getenv(envName), func(_ context.Context, q query) (result, error) {
		if role == "read" {
			return result{}, fmt.Errorf("%s", ranMark)
		}
		return result{Text: fromWhom + "child", N: int(q.UserID)}, nil
	}, memo.Options[result]{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Call(context.Background(), newQuery(1, os.Getenv(envLang)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(helperReport{Result: got, Info: f.Info()})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(outMark + string(b))
}
