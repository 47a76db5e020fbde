package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The sentinel's failover settings: short, so that a failover takes seconds,
// yet long enough that a loaded machine does not fail over a live master.
const (
	// downAfterMillis is how long the master may stay silent before the
	// sentinel deems it down (down-after-milliseconds).
	downAfterMillis = 1000
	// failoverTimeoutMillis bounds the steps of a failover; a failed
	// attempt is retried after twice this (failover-timeout).
	failoverTimeoutMillis = 5000
	// failoverWait bounds how long WaitMaster waits for a promotion. It is
	// a hang guard, not a speed goal.
	failoverWait = 30 * time.Second
)

// StartReplica starts a standalone server that replicates master, and
// returns once its link to master is up (its initial sync is done). A
// restarted replica replicates master again, whatever a sentinel made of it.
func StartReplica(t testing.TB, master *Server) *Server {
	t.Helper()
	s, err := newServer(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	s.args = append(s.args,
		"--replicaof", "127.0.0.1", strconv.Itoa(master.Port),
		// The address the master, and so a sentinel, reports for it.
		"--replica-announce-ip", "127.0.0.1",
		// Promoted, it syncs its own replicas at once.
		"--repl-diskless-sync-delay", "0",
	)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	// The master syncs the replica at once, not after the default 5s
	// delay that lets more replicas share a diskless sync.
	mc := redis.NewClient(&redis.Options{Addr: master.Addr})
	defer mc.Close()
	if err := mc.ConfigSet(ctx, "repl-diskless-sync-delay", "0").Err(); err != nil {
		t.Fatalf("redistest: master %s: %v", master.Addr, err)
	}
	t.Cleanup(s.Kill)
	if err := s.launch(); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	for {
		info, err := c.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return s
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: replica %s never linked to master %s: last error %v, info %q", s.Addr, master.Addr, err, info)
		// Redis has no event for a replica's link coming up, and WAIT on
		// the master counts any of its replicas, not this one.
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Sentinel is a redis-server running in sentinel mode that monitors one
// master under the name MasterName.
type Sentinel struct {
	*Server
	// MasterName is the name the sentinel knows the master by.
	MasterName string
}

// StartSentinel starts a sentinel monitoring master (quorum 1) and returns
// once it names master and knows each of replicas as a replica of it with
// a working link, ready to be promoted. When master stops answering for a
// second, the sentinel promotes one of them within seconds; WaitMaster
// waits for that.
func StartSentinel(t testing.TB, master *Server, replicas ...*Server) *Sentinel {
	t.Helper()
	dir := t.TempDir()
	s, err := newServer(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	const name = "tiercache"
	conf := fmt.Sprintf(`port %d
bind 127.0.0.1
protected-mode no
dir %s
sentinel announce-ip 127.0.0.1
sentinel monitor %s 127.0.0.1 %d 1
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s %d
`, s.Port, dir, name, master.Port, name, downAfterMillis, name, failoverTimeoutMillis)
	// The sentinel rewrites its configuration file: it must be writable.
	if err := os.WriteFile(dir+"/sentinel.conf", []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.args = []string{s.args[0], dir + "/sentinel.conf", "--sentinel"}
	t.Cleanup(s.Kill)
	if err := s.launch(); err != nil {
		t.Fatal(err)
	}
	sn := &Sentinel{Server: s, MasterName: name}
	// The configuration is loaded before the sentinel answers PING: it
	// names master at once.
	sn.WaitMaster(t, master)

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr})
	defer sc.Close()
	for {
		known, err := sc.Replicas(ctx, name).Result()
		missing := missingReplicas(known, replicas)
		if err == nil && len(missing) == 0 {
			return sn
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: sentinel never saw replicas %v ready: last error %v, replicas %v", missing, err, known)
		// The sentinel announces a replica it discovers (+slave), but not
		// the moment it has the replica's INFO, which a promotion needs.
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// missingReplicas returns the addresses of the servers that SENTINEL
// REPLICAS does not list as connected replicas with their link to the
// master up.
func missingReplicas(known []map[string]string, want []*Server) []string {
	ready := make(map[string]bool)
	for _, r := range known {
		if r["flags"] == "slave" && r["master-link-status"] == "ok" {
			ready[net.JoinHostPort(r["ip"], r["port"])] = true
		}
	}
	var missing []string
	for _, s := range want {
		if !ready[s.Addr] {
			missing = append(missing, s.Addr)
		}
	}
	return missing
}

// WaitMaster returns once the sentinel names want as the master: at once if
// it does already, else at its +switch-master event naming want. It fails
// the test if that does not happen within 30 seconds.
func (s *Sentinel) WaitMaster(t testing.TB, want *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failoverWait)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr})
	defer sc.Close()
	ps := sc.Subscribe(ctx, "+switch-master")
	defer ps.Close()
	// Subscribed before asking, so that a switch right after the answer is
	// still received.
	if _, err := ps.ReceiveTimeout(ctx, failoverWait); err != nil {
		t.Fatalf("redistest: SUBSCRIBE +switch-master on sentinel %s: %v", s.Addr, err)
	}
	addr, err := sc.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err == nil && len(addr) == 2 && net.JoinHostPort(addr[0], addr[1]) == want.Addr {
		return
	}
	for {
		msg, err := ps.ReceiveMessage(ctx)
		if err != nil {
			log, _ := os.ReadFile(s.dir + "/redis.log")
			t.Fatalf("redistest: sentinel %s never named %s master (it named %v): %v\nsentinel log:\n%s", s.Addr, want.Addr, addr, err, log)
		}
		// "<name> <old ip> <old port> <new ip> <new port>"
		f := strings.Fields(msg.Payload)
		if len(f) == 5 && f[0] == s.MasterName && net.JoinHostPort(f[3], f[4]) == want.Addr {
			return
		}
	}
}
