package collections

import "time"

// SetMultiMapClock makes the local expiry checks of m (Options.Local) read
// the time from now; call it before m's first read.
func SetMultiMapClock[V any](m *MultiMapTTL[V], now func() time.Time) {
	if m.local != nil {
		m.local.now = now
	}
}
