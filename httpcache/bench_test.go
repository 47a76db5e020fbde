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
// bytes (bench/httpcache measures the same through a real server).
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
	}
}
