package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Sample is one result line of `go test -bench -benchmem`.
type Sample struct {
	Pkg    string // import path, from the "pkg:" line before it
	Round  int    // which go test run it came from (set by the caller)
	Group  string // <Group> of Benchmark<Group>/<impl>
	Impl   string // <impl>; "" for a benchmark without sub-benchmarks
	NsOp   float64
	BOp    float64 // -1 when not reported
	Allocs float64 // -1 when not reported
	// Metrics are the custom metrics of the line (b.ReportMetric: any
	// unit but ns/op, B/op and allocs/op), in the order of the line; the
	// unused ones are zero. An array, not a map, so that a Sample stays
	// comparable.
	Metrics [maxMetrics]Metric
}

// maxMetrics is how many custom metrics a Sample keeps; a line with more
// is an error.
const maxMetrics = 4

// Metric is one custom metric of a result line, such as "2.00 round-trips/op".
type Metric struct {
	Unit  string
	Value float64
}

// Metric returns the value of the custom metric unit, if the line had it.
func (s Sample) Metric(unit string) (float64, bool) {
	for _, m := range s.Metrics {
		if m.Unit == unit && unit != "" {
			return m.Value, true
		}
	}
	return 0, false
}

// procsSuffix is the "-<GOMAXPROCS>" go test appends to benchmark names
// when GOMAXPROCS is not 1.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// Failure is a benchmark or a package that go test reported as failed.
type Failure struct {
	Round int    // set by the caller
	Pkg   string // import path
	Group string // the failed benchmark's group; "" when the whole package failed (build, TestMain)
	Line  string // the FAIL line
}

// Output is what Parse found in go test output.
type Output struct {
	Samples  []Sample
	Failures []Failure
}

// Parse reads go test benchmark output and returns its result lines in
// order and what failed. Lines that are neither (headers, PASS, ok, logs)
// are skipped.
func Parse(r io.Reader) (Output, error) {
	var out Output
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "--- FAIL: Benchmark"); ok {
			name = procsSuffix.ReplaceAllString(strings.Fields(name + " ")[0], "")
			group, _, _ := strings.Cut(name, "/")
			out.Failures = append(out.Failures, Failure{Pkg: pkg, Group: group, Line: strings.TrimSpace(line)})
			continue
		}
		if rest, ok := strings.CutPrefix(line, "FAIL\t"); ok {
			failed := strings.Fields(rest)[0]
			if !slices.ContainsFunc(out.Failures, func(f Failure) bool { return f.Pkg == failed }) {
				out.Failures = append(out.Failures, Failure{Pkg: failed, Line: line})
			}
			continue
		}
		s, ok, err := parseLine(line)
		if err != nil {
			return Output{}, err
		}
		if ok {
			s.Pkg = pkg
			out.Samples = append(out.Samples, s)
		}
	}
	return out, sc.Err()
}

// Drop returns samples without those of a failed benchmark group of the
// same run and package: a benchmark that failed its own checks measured
// something else than it claims.
func Drop(samples []Sample, failures []Failure) []Sample {
	return slices.DeleteFunc(samples, func(s Sample) bool {
		return slices.ContainsFunc(failures, func(f Failure) bool {
			return f.Round == s.Round && f.Pkg == s.Pkg && f.Group != "" && f.Group == s.Group
		})
	})
}

// parseLine parses "BenchmarkG/impl-2  1000  12.5 ns/op  0 B/op  0 allocs/op",
// with any custom metrics ("2.00 round-trips/op") among them.
// ok is false for a line that is not a result line.
func parseLine(line string) (s Sample, ok bool, err error) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return Sample{}, false, nil
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return Sample{}, false, nil // "BenchmarkX" followed by a log line, not a result
	}
	name := procsSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
	s = Sample{BOp: -1, Allocs: -1}
	s.Group, s.Impl, _ = strings.Cut(name, "/")
	seenNs := false
	nm := 0
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Sample{}, false, fmt.Errorf("benchtable: bad value %q in %q", f[i], line)
		}
		switch f[i+1] {
		case "ns/op":
			s.NsOp, seenNs = v, true
		case "B/op":
			s.BOp = v
		case "allocs/op":
			s.Allocs = v
		default:
			if nm == maxMetrics {
				return Sample{}, false, fmt.Errorf("benchtable: more than %d custom metrics in %q", maxMetrics, line)
			}
			s.Metrics[nm] = Metric{Unit: f[i+1], Value: v}
			nm++
		}
	}
	if !seenNs {
		return Sample{}, false, nil
	}
	return s, true, nil
}
