// Package redisproc gives the bench module's TestMains a throwaway
// redis-server, started with the root module's internal/redistest: one
// process on a free loopback port, in a temporary directory, without
// persistence, killed with the benchmark binary.
package redisproc

import (
	"fmt"
	"os"
	"testing"

	"github.com/tiercache/tiercache/internal/redistest"
)

// Main is the body of a TestMain for a package whose benchmarks need Redis:
// it starts a server, stores its address in *addr, runs the package's tests
// and benchmarks, stops the server and returns the exit code for os.Exit.
// When the server cannot start it prints why on stderr and returns 1.
//
//	var addr string
//	func TestMain(m *testing.M) { os.Exit(redisproc.Main(m, &addr)) }
func Main(m *testing.M, addr *string) int {
	s, err := redistest.Launch()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	*addr = s.Addr
	return m.Run()
}
