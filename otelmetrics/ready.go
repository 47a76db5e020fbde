package otelmetrics

import (
	"net/http"

	"github.com/tiercache/tiercache/cache"
)

// ReadyHandler returns a net/http readiness handler for s: 200 "ready"
// while s.Ready() is nil (every invalidation connection subscribed, so the
// local tier serves), else 503 with the reason. Mount it where the
// orchestrator probes readiness, for example
//
//	mux.Handle("GET /readyz", otelmetrics.ReadyHandler(store))
//
// A Store is not ready at start until its invalidation stream is
// subscribed, and not while a connection of it is down (Redis unreachable,
// say); see cache.Store.Ready for services that should stay in rotation
// then.
func ReadyHandler(s *cache.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := s.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}
