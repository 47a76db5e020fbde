package codec

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"sync"
)

// maxPooledScratch bounds the compression scratch buffer a pooled compressor
// keeps, so that one huge value does not pin its size in memory for good.
const maxPooledScratch = 256 << 10

// errNotSmaller stops a compression whose output has reached the size of its
// input: storing it compressed would gain nothing.
var errNotSmaller = errors.New("compressed form is not smaller")

// compressor is a flate.Writer (about 1 MB of state, hence the pool) with the
// scratch buffer it writes into.
type compressor struct {
	w   *flate.Writer
	out limitWriter
}

var compressors = sync.Pool{New: func() any {
	c := &compressor{}
	// NewWriter fails only for an invalid level.
	c.w, _ = flate.NewWriter(&c.out, flate.BestSpeed)
	return c
}}

// compress returns the DEFLATE encoding of p and true if it is shorter than
// p. The result lives in c's scratch buffer, valid until c is released.
func (c *compressor) compress(p []byte) ([]byte, bool) {
	c.out.b = c.out.b[:0]
	c.out.limit = len(p) - 1
	c.w.Reset(&c.out) // also clears an error left by the previous use
	if _, err := c.w.Write(p); err != nil {
		return nil, false
	}
	if err := c.w.Close(); err != nil {
		return nil, false
	}
	return c.out.b, true
}

func (c *compressor) release() {
	if cap(c.out.b) > maxPooledScratch {
		c.out.b = nil
	}
	compressors.Put(c)
}

// limitWriter appends to b and fails with errNotSmaller once b would exceed
// limit bytes.
type limitWriter struct {
	b     []byte
	limit int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(w.b)+len(p) > w.limit {
		return 0, errNotSmaller
	}
	w.b = append(w.b, p...)
	return len(p), nil
}

// decompressor is a flate reader (its Huffman tables are worth reusing)
// reading from r, which it uses directly because bytes.Reader is an
// io.ByteReader: it consumes exactly the bytes of the stream, so r.Len()
// counts what follows the final block.
type decompressor struct {
	r  bytes.Reader
	fr io.ReadCloser
}

var decompressors = sync.Pool{New: func() any {
	d := &decompressor{}
	d.fr = flate.NewReader(&d.r)
	return d
}}

// inflate decompresses the DEFLATE stream p into a new slice. With maxSize >
// 0 it reads at most maxSize+1 bytes of output and fails with ErrTooLarge if
// there are more than maxSize; the output buffer grows with what the stream
// actually produces, never with what the input claims.
func inflate(p []byte, maxSize int) ([]byte, error) {
	d := decompressors.Get().(*decompressor)
	defer func() {
		d.r.Reset(nil) // do not keep p reachable from the pool
		decompressors.Put(d)
	}()
	d.r.Reset(p)
	// A fresh flate reader from NewReader is a flate.Resetter.
	if err := d.fr.(flate.Resetter).Reset(&d.r, nil); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	limit := 0 // capacity bound for the output buffer; 0: none
	if maxSize > 0 {
		limit = maxSize + 1
	}
	out := make([]byte, 0, growCap(0, 4*len(p), limit))
	for {
		if len(out) == cap(out) {
			grown := make([]byte, len(out), growCap(cap(out), 2*cap(out), limit))
			copy(grown, out)
			out = grown
		}
		n, err := d.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if maxSize > 0 && len(out) > maxSize {
			return nil, fmt.Errorf("%w: compressed payload expands beyond the %d-byte limit", ErrTooLarge, maxSize)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: compressed payload: %v", ErrCorrupt, err)
		}
	}
	if d.r.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the compressed payload", ErrCorrupt, d.r.Len())
	}
	return out, nil
}

// growCap returns the next output capacity: want, at least 512 and more than
// cur, at most limit when limit > 0. inflate calls it only while
// len(out) <= maxSize, i.e. cur < limit, so the result exceeds cur.
func growCap(cur, want, limit int) int {
	c := max(want, 512, cur+1)
	if limit > 0 {
		c = min(c, limit)
	}
	return c
}
