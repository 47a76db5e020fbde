package cachebench

import (
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// op is one operation of one implementation: op(i) reads the i-th key (or
// batch) and returns an error on anything but a hit of the right value.
type op func(i int) error

// warmOps is how many operations each implementation runs before any of
// its group is measured.
const warmOps = 200

// order returns the implementations of a group in a random order. The
// first sub-benchmark of a group runs right after the set-up, on a client
// and a server that have not warmed up yet: a fixed order would always
// hand that penalty to the same implementation (warm-up narrows it, a
// random order keeps it from biasing one side).
func order(impls map[string]op) []string {
	names := make([]string, 0, len(impls))
	for name := range impls {
		names = append(names, name)
	}
	slices.Sort(names)
	rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	return names
}

// warm runs every implementation warmOps times.
func warm(b *testing.B, impls map[string]op, n int) {
	b.Helper()
	for name, f := range impls {
		for i := range warmOps {
			if err := f(i % n); err != nil {
				b.Fatalf("%s: warm-up: %v", name, err)
			}
		}
	}
}

// runGroup runs each implementation as a sub-benchmark named after it, each
// operation on the next of n indices.
func runGroup(b *testing.B, impls map[string]op, n int) {
	b.Helper()
	warm(b, impls, n)
	for _, name := range order(impls) {
		f := impls[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := f(i); err != nil {
					b.Fatalf("%s: %v", name, err)
				}
				if i++; i == n {
					i = 0
				}
			}
		})
	}
}

// runGroupParallel is runGroup from GOMAXPROCS goroutines at once
// (b.RunParallel), each starting at its own index.
func runGroupParallel(b *testing.B, impls map[string]op, n int) {
	b.Helper()
	runGroupParallelProcs(b, impls, n, false)
}

// oneProc ends the name of an implementation's run at GOMAXPROCS 1.
const oneProc = "-1proc"

// runGroupParallelProcs is runGroupParallel; with alsoOneProc, each
// implementation runs a second time at GOMAXPROCS 1 (one goroutine),
// named <impl>-1proc, so that the table shows what each gains from the
// second CPU: its -1proc ns/op over its ns/op.
func runGroupParallelProcs(b *testing.B, impls map[string]op, n int, alsoOneProc bool) {
	b.Helper()
	warm(b, impls, n)
	runs := maps.Clone(impls)
	if alsoOneProc {
		for name, f := range impls {
			runs[name+oneProc] = f
		}
	}
	for _, name := range order(runs) {
		f := runs[name]
		b.Run(name, func(b *testing.B) {
			if strings.HasSuffix(name, oneProc) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(n)
				for pb.Next() {
					if err := f(i); err != nil {
						b.Errorf("%s: %v", name, err) // not Fatal: this is not the benchmark's goroutine
						return
					}
					if i++; i == n {
						i = 0
					}
				}
			})
		})
	}
}
