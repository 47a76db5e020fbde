package collections

import (
	"fmt"
	"sync"
)

// FenceChecker is the check a resource guarded by a [Lock] makes before it
// accepts a write: it admits a fencing token only if no larger token has been
// admitted, so a holder that was paused past its validity, and whose token
// is lower than its successor's, is turned away. It is safe for concurrent
// use; the zero value has admitted nothing.
//
// FenceChecker is for a resource in this process. A resource elsewhere does
// the same with its own atomic compare, for example in SQL:
//
//	UPDATE accounts SET balance = $1, fence = $2 WHERE id = $3 AND fence <= $2
//
// and treats "no row updated" as a stale holder.
type FenceChecker struct {
	mu      sync.Mutex
	highest uint64
}

// Admit returns nil and records token if it is at least as large as every
// token admitted before (a holder may write several times with its token),
// and an error matching [ErrStaleFence] otherwise. Token 0 is never issued by
// a Lock and is always rejected.
func (f *FenceChecker) Admit(token uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token == 0 || token < f.highest {
		return fmt.Errorf("%w: token %d, highest admitted %d", ErrStaleFence, token, f.highest)
	}
	f.highest = token
	return nil
}

// Highest returns the largest token admitted so far, 0 if none.
func (f *FenceChecker) Highest() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.highest
}
