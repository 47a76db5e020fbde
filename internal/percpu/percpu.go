// Package percpu counts events from many goroutines at once without making
// them share a cache line: each processor (P) of the Go scheduler adds to a
// cell of its own.
package percpu

import (
	"sync/atomic"
	_ "unsafe" // for go:linkname
)

// procPin and procUnpin are the runtime's own: procPin returns the id of the
// P that runs the caller and keeps the goroutine on it until procUnpin. The
// runtime keeps them reachable by linkname for the packages that use them
// (sync.Pool does the same internally).
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// cellBits is log2 of the number of cells: P ids beyond it wrap around, so
// two Ps may share a cell on a machine with more than 16 of them.
const cellBits = 4

// Counter is a count that goroutines add to at once, one cell per P. Each
// cell is 128 bytes (adjacent-line prefetch makes neighbours on one 128-byte
// pair contend too) with its word in the middle, so that no two words, and
// no word and a field around the counter, share a cache line whatever the
// counter's alignment. Load sums the cells; under concurrent adds the sum
// is not a snapshot of one instant. The zero value is 0 and ready to use.
type Counter struct {
	cells [1 << cellBits]struct {
		_ [64]byte
		n atomic.Uint64
		_ [56]byte
	}
}

// Inc adds 1 to the cell of the caller's P.
func (c *Counter) Inc() {
	p := procPin()
	procUnpin()
	c.cells[p&(1<<cellBits-1)].n.Add(1)
}

// Add adds delta to the first cell, for the paths that are not hot.
func (c *Counter) Add(delta uint64) { c.cells[0].n.Add(delta) }

// Load returns the sum of the cells.
func (c *Counter) Load() uint64 {
	var sum uint64
	for i := range c.cells {
		sum += c.cells[i].n.Load()
	}
	return sum
}
