// Package httpcache is an RFC 9111 shared HTTP cache for net/http, on a
// tiercache Store: responses are kept in the Store's local tier and in
// Redis, so every process sharing the Store serves what one of them stored,
// and a purge or an invalidation in one process reaches all of them.
//
// Wrap a handler (an application, or an httputil.ReverseProxy) with
// Cache.Handler:
//
//	store, _ := cache.NewStore(rdb, cache.StoreOptions{})
//	hc, _ := httpcache.New(store, httpcache.Options{Redis: rdb})
//	http.ListenAndServe(":8080", hc.Handler(app))
//
// # What it implements
//
//   - Storage (RFC 9111 §3): GET responses with a final status, unless
//     no-store (request or response), private, Vary: *, a Set-Cookie (see
//     Options.SetCookie; decided on the final field set, trailers and
//     fields set after the status line included), a request with
//     Authorization whose response lacks public, must-revalidate or
//     s-maxage (§3.5), a request with Cookie whose response lacks those
//     or Vary: Cookie (Options.RequestCookie), or a request with content. must-understand
//     stores only statuses this cache understands and then overrides
//     no-store. A response needs explicit freshness, public or a
//     heuristically cacheable status, and a positive freshness, a
//     validator, or a stale-if-error / stale-while-revalidate to be served
//     under (a response stale on arrival with none of them would never be
//     served). Incomplete responses (a body shorter or
//     longer than Content-Length, a handler that panicked, a client that
//     left) are not stored. Hop-by-hop fields, the fields named by
//     Connection, and the fields named by qualified no-cache="..." and
//     private="..." are not stored: this cache drops them rather than
//     revalidating for them.
//   - Freshness (§4.2): s-maxage, max-age, Expires minus Date, and a
//     heuristic of 10% of the time since Last-Modified (capped by
//     Options.MaxHeuristic) for heuristically cacheable or public responses.
//     Duplicated directives: the first wins; invalid values mean stale. Age
//     is computed as in §4.2.3 (the first member of the Age field counts)
//     and sent with every stored response served. HTTP-dates are parsed
//     strictly; a malformed Expires, or several different ones, means
//     expired.
//   - Request directives (§5.2.1): no-cache, no-store, max-age, max-stale,
//     min-fresh, only-if-cached (a 504 when nothing stored may answer),
//     stale-if-error (it bounds the staleness the client accepts on error).
//     Pragma is ignored (RFC 9111 deprecates it), though net/http's server
//     turns a lone Pragma: no-cache into Cache-Control: no-cache.
//   - Response directives (§5.2.2): no-store, no-cache, private, public,
//     must-revalidate, proxy-revalidate, s-maxage, must-understand,
//     immutable (a fresh immutable response answers a reload, request
//     max-age=0, without revalidation; no-cache still revalidates),
//     stale-while-revalidate and stale-if-error (RFC 5861).
//   - Vary (§4.1): several variants per URL (Options.MaxVariants), field
//     values normalized (lines combined, whitespace around commas dropped,
//     the members of Accept-Language, Accept-Encoding and Accept-Charset
//     lowercased and ordered); Vary: * is never stored.
//   - Validation (§4.3): a stale response with ETag or Last-Modified is
//     revalidated with If-None-Match / If-Modified-Since; a 304 updates the
//     stored fields and freshness. The client's own preconditions are
//     evaluated by the cache against the response it serves, and a 304 goes
//     only to a client whose If-None-Match or If-Modified-Since matched:
//     never to an unconditional request, not even when the handler answers
//     304 to one (that becomes a 502). If-Match, If-Unmodified-Since,
//     If-Range and Range (RFC 9110 §13.2.2, §14) are evaluated against a
//     usable stored response: 412, 206 and 416 responses come from the
//     cache; without one they go to the origin.
//   - Invalidation (§4.4): a 2xx or 3xx answer to an unsafe method removes
//     the target URI and the same-origin Location and Content-Location.
//   - HEAD is answered from a stored GET response.
//   - Cache-Status (RFC 9211) on every response; targeted fields such as
//     CDN-Cache-Control (RFC 9213) with Options.CDNCacheControl.
//   - Request coalescing: one forwarded request per key at a time (no-cache
//     and max-age=0 requests too, HEAD on a flight of its own); the others
//     wait and get its stored response, or forward on their own as soon as
//     it is known not to be stored. The fetch runs detached from its
//     client, which gets the response through a goroutine of its own: a
//     client that does not read holds up nobody else.
//   - Against a hostile client: routing fields (Options.RoutingFields:
//     X-Original-URL, X-HTTP-Method-Override, X-Forwarded-Host...) are
//     stripped before the handler or keyed (Options.Routing); entries read
//     from Redis are validated and bound to their key, and authenticated
//     with Options.IntegrityKey; a request in absolute form naming another
//     scheme than its connection's is not cached.
//   - Purge by URL and by Surrogate-Key tag in every process. A response
//     is stored, and its tags indexed, before its client has it in full
//     (the last byte of a declared length waits for the Store), so a purge
//     sent after a response was received removes it.
//
// Partial (206) responses are not stored; responses larger than
// Options.MaxBodySize stream to their client and are not stored either.
//
// # Streaming
//
// The handler's writes go to the client as they are made. A response that
// is stored is captured once, while it streams; the capture becomes the
// stored body without a copy. The ResponseWriter a handler gets supports
// http.Flusher and http.ResponseController (through Unwrap), and passes 1xx
// interim responses (103 Early Hints) through, so server-sent events and
// other streams work through the cache.
package httpcache
