package main

import (
	"fmt"
	"net/http"

	"github.com/tiercache/tiercache/httpcache"
)

// prometheusText serves the Stats of the Cache and of the Store in the
// Prometheus text exposition format (version 0.0.4), written by hand: no
// dependency for a dozen counters.
func prometheusText(hc *httpcache.Cache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		h, s := hc.Stats(), hc.StoreStats()
		metric := func(name, kind, help string, v any) {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, kind, name, v)
		}
		b := func(v bool) int {
			if v {
				return 1
			}
			return 0
		}
		metric("tiercache_http_hits_total", "counter", "Requests answered from a fresh stored response.", h.Hits)
		metric("tiercache_http_stale_hits_total", "counter", "Requests answered from a stale stored response.", h.StaleHits)
		metric("tiercache_http_misses_total", "counter", "Requests forwarded for want of a usable stored response.", h.Misses)
		metric("tiercache_http_revalidated_total", "counter", "Stored responses freshened by a 304.", h.Revalidated)
		metric("tiercache_http_stored_total", "counter", "Responses stored.", h.Stored)
		metric("tiercache_http_coalesced_total", "counter", "Requests answered by another request's fetch.", h.Coalesced)
		metric("tiercache_http_invalidated_total", "counter", "Keys invalidated by unsafe methods.", h.Invalidated)
		metric("tiercache_http_store_errors_total", "counter", "Failed Store calls the request survived.", h.RedisErrors)
		metric("tiercache_http_not_stored_too_big_total", "counter", "Responses not stored for a body over the size limit.", h.NotStoredBig)
		metric("tiercache_http_corrupt_entries_total", "counter", "Stored entries read under another key than theirs.", h.Corrupt)
		metric("tiercache_store_local_hits_total", "counter", "Reads answered by the local tier.", s.LocalHits)
		metric("tiercache_store_remote_hits_total", "counter", "Reads answered by Redis.", s.RemoteHits)
		metric("tiercache_store_decode_errors_total", "counter", "Redis values that could not be decoded or failed validation (read as misses).", s.DecodeErrors)
		metric("tiercache_store_redis_errors_total", "counter", "Failed Redis calls.", s.RedisErrors)
		metric("tiercache_store_coherent", "gauge", "1 when every invalidation connection is subscribed.", b(s.Coherent))
		metric("tiercache_store_invalidations_total", "counter", "Keys invalidated by the invalidation stream.", s.Invalidations)
		metric("tiercache_store_resyncs_total", "counter", "Local tier flushes after a lost invalidation connection.", s.Resyncs)
		metric("tiercache_store_evictions_total", "counter", "Local entries pushed out by the budget.", s.Evictions)
		metric("tiercache_store_expirations_total", "counter", "Local entries dropped at their expiry.", s.Expirations)
		metric("tiercache_store_local_entries", "gauge", "Entries in the local tier.", s.LocalEntries)
		metric("tiercache_store_local_bytes", "gauge", "Bytes the local tier accounts for.", s.LocalBytes)
		metric("tiercache_store_breaker_state", "gauge", "The Store's circuit breaker (0 closed).", int(s.Breaker))
	})
}
