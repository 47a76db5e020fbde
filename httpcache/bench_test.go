package httpcache

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"github.com/tiercache/tiercache/internal/redistest"
)

// discardWriter is a ResponseWriter that keeps nothing but its header map
// (cleared between requests), so that a benchmark measures the handler.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkServeHit measures the middleware's hit path without the network:
// ServeHTTP on a stored response, against the bare handler writing the same
// bytes (bench/httpcache measures the same through a real server), with
// and without Options.IntegrityKey (a hit from the local tier verifies
// nothing: only a read from Redis decodes).
//
// BenchmarkServeHitRedis is the same with the local tier off, so that every
// hit reads and decodes the entry from Redis: there the MAC is checked on
// every hit.
func BenchmarkServeHit(b *testing.B) {
	for _, size := range []int{1 << 10, 100 << 10} {
		body := bytes.Repeat([]byte("x"), size)
		origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Cache-Control", "max-age=3600")
			h.Set("Content-Length", strconv.Itoa(size))
			_, _ = w.Write(body)
		})
		req, _ := http.NewRequest(http.MethodGet, "http://bench.example/item", nil)
		run := func(b *testing.B, h http.Handler) {
			w := &discardWriter{h: make(http.Header)}
			h.ServeHTTP(w, req)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		}
		b.Run(strconv.Itoa(size>>10)+"KiB/limit", func(b *testing.B) { run(b, origin) })
		b.Run(strconv.Itoa(size>>10)+"KiB/tiercache", func(b *testing.B) {
			e := newEnv(b, redistest.Start(b), Options{})
			run(b, e.c.Handler(origin))
		})
		b.Run(strconv.Itoa(size>>10)+"KiB/tiercache-integrity", func(b *testing.B) {
			e := newEnv(b, redistest.Start(b), Options{IntegrityKey: bytes.Repeat([]byte("k"), 32)})
			run(b, e.c.Handler(origin))
		})
	}
}

func BenchmarkServeHitRedis(b *testing.B) {
	const size = 1 << 10
	body := bytes.Repeat([]byte("x"), size)
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "max-age=3600")
		h.Set("Content-Length", strconv.Itoa(size))
		_, _ = w.Write(body)
	})
	req, _ := http.NewRequest(http.MethodGet, "http://bench.example/item", nil)
	srv := redistest.Start(b)
	for _, name := range []string{"plain", "integrity"} {
		b.Run(name, func(b *testing.B) {
			opts := Options{LocalTTL: -1}
			if name == "integrity" {
				opts.IntegrityKey = bytes.Repeat([]byte("k"), 32)
			}
			e := newEnv(b, srv, opts)
			h := e.c.Handler(origin)
			w := &discardWriter{h: make(http.Header)}
			h.ServeHTTP(w, req)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			if e.c.Stats().Hits < uint64(b.N) {
				b.Fatalf("%d hits for %d requests", e.c.Stats().Hits, b.N)
			}
		})
	}
}
