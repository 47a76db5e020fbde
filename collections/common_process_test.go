package collections_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Tests that need several processes re-run this test binary with
// -test.run=^TestHelperProcess$ and the environment below; TestHelperProcess
// then plays the part named by dsHelperEnv. Run normally, it does nothing.
const (
	dsHelperEnv  = "TIERCACHE_COLLECTIONS_HELPER" // the part to play
	dsAddrsEnv   = "TIERCACHE_COLLECTIONS_ADDRS"  // comma-separated Redis addresses
	dsClusterEnv = "TIERCACHE_COLLECTIONS_CLUSTER"
	dsNameEnv    = "TIERCACHE_COLLECTIONS_NAME" // the collection's name
)

// dsHelpers are the parts a helper process can play.
var dsHelpers = map[string]func(t *testing.T, rdb redis.UniversalClient, name string){
	"deque-push":   helperDequePush,
	"reliable-get": helperReliableGet,
}

func TestHelperProcess(t *testing.T) {
	part := os.Getenv(dsHelperEnv)
	if part == "" {
		return // not a helper process
	}
	addrs := strings.Split(os.Getenv(dsAddrsEnv), ",")
	var rdb redis.UniversalClient
	if os.Getenv(dsClusterEnv) == "1" {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: addrs[0]})
	}
	defer rdb.Close()
	dsHelpers[part](t, rdb, os.Getenv(dsNameEnv))
}

// helperCommand returns the command that runs this test binary as a helper
// process playing part on the backend's Redis, for the collection name.
func (be dsBackend) helperCommand(part, name string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cluster := "0"
	if be.cluster {
		cluster = "1"
	}
	cmd.Env = append(os.Environ(),
		dsHelperEnv+"="+part,
		dsAddrsEnv+"="+strings.Join(be.addrs, ","),
		dsClusterEnv+"="+cluster,
		dsNameEnv+"="+name,
	)
	return cmd
}
