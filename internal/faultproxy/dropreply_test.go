package faultproxy

import (
	"testing"
)

// TestReplyParserSplits feeds RESP2 and RESP3 replies to the parser cut at
// every byte, and checks which reply is dropped and what is forwarded.
func TestReplyParserSplits(t *testing.T) {
	replies := []string{
		"%2\r\n+server\r\n+redis\r\n$5\r\nproto\r\n:3\r\n", // HELLO-like map
		"+OK\r\n",
		">3\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n_\r\n", // push: not counted
		"-ERR boom\r\n",
		"$-1\r\n",
		"*2\r\n$3\r\nabc\r\n*-1\r\n",
		"|1\r\n+ttl\r\n:3\r\n:42\r\n", // attribute then its value: one reply
		"=8\r\ntxt:abcd\r\n",
		"~2\r\n#t\r\n,1.5\r\n",
		"(12345678901234567890\r\n",
	}
	var stream string
	for _, r := range replies {
		stream += r
	}
	for cutAt := 0; cutAt <= len(stream); cutAt++ {
		p := &Proxy{}
		p.DropReplies(5) // counted: map, +OK, -ERR, $-1, then the array is 5th
		rp := &replyParser{p: p}
		out1, cut1 := rp.feed([]byte(stream[:cutAt]))
		var got string
		got += string(out1)
		cut := cut1
		if !cut {
			out2, cut2 := rp.feed([]byte(stream[cutAt:]))
			got += string(out2)
			cut = cut2
		}
		want := replies[0] + replies[1] + replies[2] + replies[3] + replies[4]
		if !cut || got != want {
			t.Fatalf("cut at %d: got %q (cut %v), want %q and a cut", cutAt, got, cut, want)
		}
		if p.Dropped() != 1 {
			t.Fatalf("cut at %d: dropped %d, want 1", cutAt, p.Dropped())
		}
	}
}

// TestReplyParserNotRESP forwards a stream that is not RESP as it is.
func TestReplyParserNotRESP(t *testing.T) {
	p := &Proxy{}
	p.DropReplies(1)
	rp := &replyParser{p: p}
	out, cut := rp.feed([]byte("hello\r\nworld"))
	if cut || string(out) != "hello\r\nworld" {
		t.Fatalf("got %q, %v", out, cut)
	}
	out, cut = rp.feed([]byte("+OK\r\n"))
	if cut || string(out) != "+OK\r\n" {
		t.Fatalf("got %q, %v", out, cut)
	}
}
