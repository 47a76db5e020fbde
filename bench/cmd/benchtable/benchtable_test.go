package main

import (
	"strings"
	"testing"
)

const sampleOutput = `goos: linux
goarch: amd64
pkg: github.com/tiercache/tiercache/bench/cache
cpu: AMD EPYC
BenchmarkLocalHit/limit-2     	26076537	        50.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkLocalHit/tiercache-2 	 5708901	       90.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkLocalHit/gorediscache-2         	  637489	      1800 ns/op	     176 B/op	       7 allocs/op
BenchmarkRemoteHit/limit-2               	    8523	    100000 ns/op	     312 B/op	       7 allocs/op
BenchmarkRemoteHit/tiercache-2           	   10000	    120000 ns/op	     798 B/op	      14 allocs/op
BenchmarkOther-2   	    10	    5 ns/op
PASS
ok  	github.com/tiercache/tiercache/bench/cache	22.418s
`

func TestParse(t *testing.T) {
	out, err := Parse(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	got := out.Samples
	if len(out.Failures) != 0 {
		t.Errorf("got failures %+v, want none", out.Failures)
	}
	if len(got) != 6 {
		t.Fatalf("got %d samples, want 6: %+v", len(got), got)
	}
	want := Sample{Pkg: "github.com/tiercache/tiercache/bench/cache", Group: "LocalHit", Impl: "gorediscache", NsOp: 1800, BOp: 176, Allocs: 7}
	if got[2] != want {
		t.Errorf("got %+v, want %+v", got[2], want)
	}
	if o := got[5]; o.Group != "Other" || o.Impl != "" || o.NsOp != 5 || o.Allocs != -1 {
		t.Errorf("got %+v, want group Other, no impl, 5 ns/op, allocs not reported", o)
	}
}

func TestParseSkipsLogLines(t *testing.T) {
	out, err := Parse(strings.NewReader("BenchmarkX/limit\n    x_test.go:12: hello\nBenchmarkX/limit-8 10 1 ns/op\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := out.Samples
	if len(got) != 1 || got[0].Impl != "limit" {
		t.Fatalf("got %+v, want one sample of BenchmarkX/limit", got)
	}
}

// samplesOf parses outputs as consecutive runs.
func samplesOf(t *testing.T, outputs ...string) []Sample {
	t.Helper()
	var all []Sample
	for i, out := range outputs {
		got, err := Parse(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		for j := range got.Samples {
			got.Samples[j].Round = i + 1
		}
		all = append(all, got.Samples...)
	}
	return all
}

func TestRatiosArePairedWithinRuns(t *testing.T) {
	// The machine is twice as slow in the second run: the paired ratio stays
	// 1.1 while a ratio of medians would say 1.65 or 0.73.
	run1 := "BenchmarkG/limit-2 1 100 ns/op\nBenchmarkG/impl-2 1 110 ns/op\n"
	run2 := "BenchmarkG/limit-2 1 200 ns/op\nBenchmarkG/impl-2 1 220 ns/op\n"
	run3 := "BenchmarkG/limit-2 1 100 ns/op\nBenchmarkG/impl-2 1 110 ns/op\n"
	secs := Build(samplesOf(t, run1, run2, run3), nil)
	if len(secs) != 1 || len(secs[0].Rows) != 2 {
		t.Fatalf("got %d sections, want 1 with 2 rows", len(secs))
	}
	r, ok := pairedRatio(secs[0].row("impl"), secs[0].row("limit"))
	if !ok || r < 1.0999 || r > 1.1001 {
		t.Errorf("got ratio %v (%v), want 1.1", r, ok)
	}
	var sb strings.Builder
	Render(&sb, secs)
	if want := "| 1.10× (1.10×–1.10×) |"; !strings.Contains(sb.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, sb.String())
	}
	if got := secs[0].row("impl").NsOp; got != 110 {
		t.Errorf("got median %v ns/op, want 110", got)
	}
}

func TestRowOrder(t *testing.T) {
	secs := Build(samplesOf(t, "BenchmarkG/b-2 1 1 ns/op\nBenchmarkG/tiercache-x-2 1 1 ns/op\nBenchmarkG/a-2 1 1 ns/op\nBenchmarkG/limit-2 1 1 ns/op\nBenchmarkG/tiercache-2 1 1 ns/op\n"), nil)
	var impls []string
	for _, r := range secs[0].Rows {
		impls = append(impls, r.Impl)
	}
	if got, want := strings.Join(impls, ","), "limit,tiercache,tiercache-x,a,b"; got != want {
		t.Errorf("got rows %s, want %s", got, want)
	}
}

func TestCheckAndRender(t *testing.T) {
	declared := []Group{{
		Name:  "LocalHit",
		Title: "local hit",
		Impls: map[string]string{"limit": "map"},
		Targets: []Target{
			{Impl: "tiercache", Kind: WithinLimit, X: 2},
			{Impl: "tiercache", Kind: FasterThan, Peer: "gorediscache", X: 10},
			{Impl: "tiercache", Kind: NoAllocs},
		},
	}, {
		Name:    "RemoteHit",
		Targets: []Target{{Impl: "tiercache", Kind: WithinLimit, X: 1.15}},
	}, {
		Name: "NotRun",
	}}
	secs := Build(samplesOf(t, sampleOutput), declared)
	if len(secs) != 3 {
		t.Fatalf("got %d sections, want LocalHit, RemoteHit and the undeclared Other", len(secs))
	}
	want := map[Kind]bool{WithinLimit: true, FasterThan: true, NoAllocs: true}
	for _, v := range Check(secs[0]) {
		if !v.Known || v.Met != want[v.Target.Kind] {
			t.Errorf("target %+v: got known %v met %v (value %v), want met %v", v.Target, v.Known, v.Met, v.Value, want[v.Target.Kind])
		}
	}
	if v := Check(secs[1])[0]; !v.Known || v.Met || v.Value != 1.2 {
		t.Errorf("RemoteHit target: got %+v, want known, not met, 1.2", v)
	}

	var sb strings.Builder
	checked, met := Render(&sb, secs)
	if checked != 4 || met != 3 {
		t.Errorf("got %d of %d targets met, want 3 of 4", met, checked)
	}
	out := sb.String()
	for _, s := range []string{
		"| **LocalHit**<br>local hit | limit | map | 50.0 | 0 | 0 | 1.00 (limit) |",
		"| tiercache |  | 90.0 | 0 | 0 | 1.80× | ≤ 2× limit (1.80×)<br>≥ 10× faster than gorediscache (20.00×)<br>0 allocs/op (0) | yes<br>yes<br>yes |",
		"| 120,000 | 798 | 14 | 1.20× | ≤ 1.15× limit (1.20×) | **no** |",
		"| **Other** | ",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
}

func TestCheckUnknownWhenRowMissing(t *testing.T) {
	declared := []Group{{Name: "G", Targets: []Target{{Impl: "x", Kind: WithinLimit, X: 2}}}}
	secs := Build(samplesOf(t, "BenchmarkG/x-2 1 1 ns/op\n"), declared)
	if v := Check(secs[0])[0]; v.Known || v.Met {
		t.Errorf("got %+v, want unknown and not met without a limit row", v)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFailuresDropTheirGroupOfTheirRun(t *testing.T) {
	const failed = `pkg: example.com/bench/a
BenchmarkG/limit-2 1 100 ns/op
BenchmarkG/impl-2 1 999 ns/op
--- FAIL: BenchmarkG
    x_test.go:1: only Redis hits
BenchmarkH/limit-2 1 5 ns/op
FAIL
exit status 1
FAIL	example.com/bench/a	1.0s
FAIL	example.com/bench/b [build failed]
`
	out, err := Parse(strings.NewReader(failed))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Failures) != 2 {
		t.Fatalf("got failures %+v, want BenchmarkG and package b", out.Failures)
	}
	if f := out.Failures[0]; f.Pkg != "example.com/bench/a" || f.Group != "G" {
		t.Errorf("got %+v, want group G of package a", f)
	}
	if f := out.Failures[1]; f.Pkg != "example.com/bench/b" || f.Group != "" {
		t.Errorf("got %+v, want the whole package b", f)
	}
	for i := range out.Samples {
		out.Samples[i].Round = 1
	}
	for i := range out.Failures {
		out.Failures[i].Round = 1
	}
	other := Sample{Round: 2, Pkg: "example.com/bench/a", Group: "G", Impl: "impl", NsOp: 110}
	kept := Drop(append(out.Samples, other), out.Failures)
	if len(kept) != 2 || kept[0].Group != "H" || kept[1] != other {
		t.Errorf("got %+v, want H of run 1 and G of run 2", kept)
	}
}

func TestParseCustomMetrics(t *testing.T) {
	out, err := Parse(strings.NewReader("BenchmarkColdLoad/tiercache-2 100 250000 ns/op 2.000 round-trips/op 1200 B/op 20 allocs/op\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Samples) != 1 {
		t.Fatalf("got %+v, want one sample", out.Samples)
	}
	s := out.Samples[0]
	if s.NsOp != 250000 || s.BOp != 1200 || s.Allocs != 20 {
		t.Errorf("got %+v, want 250000 ns/op, 1200 B/op, 20 allocs/op", s)
	}
	if v, ok := s.Metric("round-trips/op"); !ok || v != 2 {
		t.Errorf("got round-trips/op %v (%v), want 2", v, ok)
	}
	if _, ok := s.Metric("loads/op"); ok {
		t.Error("got a loads/op metric the line does not have")
	}
	if _, err := Parse(strings.NewReader("BenchmarkX/a-2 1 1 ns/op 1 a/op 2 b/op 3 c/op 4 d/op 5 e/op\n")); err == nil {
		t.Error("got no error for a line with more custom metrics than a Sample keeps")
	}
}

func TestMetricTargetsAndUnitRatios(t *testing.T) {
	declared := []Group{{
		Name: "Mem",
		Unit: "heap-B/entry",
		Targets: []Target{
			{Impl: "tiercache", Kind: WithinLimit, X: 1.25, Unit: "heap-B/entry"},
		},
	}, {
		Name: "Cold",
		Targets: []Target{
			{Impl: "tiercache", Kind: AtMost, X: 2, Unit: "round-trips/op"},
			{Impl: "peer", Kind: AtMost, X: 2, Unit: "round-trips/op"},
			{Impl: "tiercache", Kind: AtMost, X: 1, Unit: "loads/op"}, // not reported
		},
	}}
	run1 := "BenchmarkMem/limit-2 1 1000 ns/op 100 heap-B/entry 2 heap-objs/entry\n" +
		"BenchmarkMem/tiercache-2 1 9000 ns/op 120 heap-B/entry 3 heap-objs/entry\n" +
		"BenchmarkCold/tiercache-2 1 5 ns/op 2 round-trips/op\n" +
		"BenchmarkCold/peer-2 1 5 ns/op 3 round-trips/op\n"
	run2 := strings.ReplaceAll(run1, "120 heap-B/entry", "140 heap-B/entry")
	secs := Build(samplesOf(t, run1, run2), declared)
	if len(secs) != 2 {
		t.Fatalf("got %d sections, want 2", len(secs))
	}
	tc := secs[0].row("tiercache")
	if got := tc.Metrics["heap-B/entry"]; got != 130 {
		t.Errorf("got median %v heap-B/entry, want 130", got)
	}
	if got := strings.Join(tc.Units, ","); got != "heap-B/entry,heap-objs/entry" {
		t.Errorf("got units %s, want heap-B/entry,heap-objs/entry", got)
	}
	if v := Check(secs[0])[0]; !v.Known || v.Met || v.Value < 1.2999 || v.Value > 1.3001 {
		t.Errorf("Mem target: got %+v, want known, 1.3 (of 1.2 and 1.4), not met", v)
	}
	want := []struct{ known, met bool }{{true, true}, {true, false}, {false, false}}
	for i, v := range Check(secs[1]) {
		if v.Known != want[i].known || v.Met != want[i].met {
			t.Errorf("Cold target %+v: got known %v met %v, want %v %v", v.Target, v.Known, v.Met, want[i].known, want[i].met)
		}
	}

	var sb strings.Builder
	Render(&sb, secs)
	out := sb.String()
	for _, s := range []string{
		"| 1.30× (1.20×–1.40×) of heap-B/entry | ≤ 1.25× limit in heap-B/entry (1.30×) | **no** | 130.0 heap-B/entry<br>3.00 heap-objs/entry |",
		"| 1.00 (limit) |  |  | 100.0 heap-B/entry<br>2.00 heap-objs/entry |",
		"| ≤ 2 round-trips/op (2.00)<br>≤ 1 loads/op (not measured) | yes<br>n/a | 2.00 round-trips/op |",
		"| ≤ 2 round-trips/op (3.00) | **no** | 3.00 round-trips/op |",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
}
