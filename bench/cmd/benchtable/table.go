package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// limitImpl is the impl name that marks a group's limit.
const limitImpl = "limit"

// nsOp is the unit of go test's time per operation, the unit ratios are
// taken in unless a group or a target says otherwise.
const nsOp = "ns/op"

// Row is one implementation of a group, summarised over the rounds.
type Row struct {
	Impl   string
	NsOp   float64 // median over rounds
	BOp    float64 // median; -1 when not reported
	Allocs float64 // median; -1 when not reported
	// Metrics are the medians of the custom metrics (b.ReportMetric), by
	// unit; Units lists them in the order they first appeared.
	Metrics map[string]float64
	Units   []string
	// vals holds every value by unit (nsOp and the custom metrics), then
	// by round.
	vals   map[string]map[int][]float64
	bytes  []float64
	allocs []float64
}

// add records value v of unit in round.
func (r *Row) add(unit string, round int, v float64) {
	if r.vals == nil {
		r.vals = map[string]map[int][]float64{}
	}
	byRound := r.vals[unit]
	if byRound == nil {
		byRound = map[int][]float64{}
		r.vals[unit] = byRound
		if unit != nsOp {
			r.Units = append(r.Units, unit)
		}
	}
	byRound[round] = append(byRound[round], v)
}

// valueIn returns the row's median of unit in round r, if it ran in that
// round and reported unit.
func (r *Row) valueIn(unit string, round int) (float64, bool) {
	v, ok := r.vals[unit][round]
	if !ok || len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

// all returns every value of unit the row has, over all rounds.
func (r *Row) all(unit string) []float64 {
	var all []float64
	for _, v := range r.vals[unit] {
		all = append(all, v...)
	}
	return all
}

// Section is one group's rows, the limit first.
type Section struct {
	Group Group
	Rows  []*Row
}

// row returns the section's row for impl, or nil.
func (s *Section) row(impl string) *Row {
	for _, r := range s.Rows {
		if r.Impl == impl {
			return r
		}
	}
	return nil
}

// Build groups samples into sections: the declared groups first, in their
// order, then the others in the order their first benchmark appears.
func Build(samples []Sample, declared []Group) []*Section {
	var secs []*Section
	byName := map[string]*Section{}
	for _, g := range declared {
		s := &Section{Group: g}
		byName[g.Name] = s
		secs = append(secs, s)
	}
	for _, smp := range samples {
		sec := byName[smp.Group]
		if sec == nil {
			sec = &Section{Group: Group{Name: smp.Group}}
			byName[smp.Group] = sec
			secs = append(secs, sec)
		}
		r := sec.row(smp.Impl)
		if r == nil {
			r = &Row{Impl: smp.Impl}
			sec.Rows = append(sec.Rows, r)
		}
		r.add(nsOp, smp.Round, smp.NsOp)
		for _, m := range smp.Metrics {
			if m.Unit != "" {
				r.add(m.Unit, smp.Round, m.Value)
			}
		}
		if smp.BOp >= 0 {
			r.bytes = append(r.bytes, smp.BOp)
		}
		if smp.Allocs >= 0 {
			r.allocs = append(r.allocs, smp.Allocs)
		}
	}
	out := secs[:0]
	for _, sec := range secs {
		if len(sec.Rows) == 0 {
			continue // declared but not run (filtered out by -bench)
		}
		for _, r := range sec.Rows {
			r.NsOp = median(r.all(nsOp))
			r.Metrics = map[string]float64{}
			for _, u := range r.Units {
				r.Metrics[u] = median(r.all(u))
			}
			r.BOp, r.Allocs = medianOr(r.bytes, -1), medianOr(r.allocs, -1)
		}
		slices.SortStableFunc(sec.Rows, func(a, b *Row) int {
			if c := rank(a.Impl) - rank(b.Impl); c != 0 {
				return c
			}
			return strings.Compare(a.Impl, b.Impl)
		})
		out = append(out, sec)
	}
	return out
}

// pairedRatio returns the median over rounds of num's ns/op divided by
// den's in the same round. Pairing rounds cancels most of the drift of a
// shared machine: both were measured minutes apart at most, seconds apart
// usually. ok is false when no round has both.
func pairedRatio(num, den *Row) (float64, bool) {
	return pairedRatioOf(nsOp, num, den)
}

// pairedRatioOf is pairedRatio in unit (nsOp or a custom metric's).
func pairedRatioOf(unit string, num, den *Row) (float64, bool) {
	rs := pairedRatios(unit, num, den)
	if len(rs) == 0 {
		return 0, false
	}
	return median(rs), true
}

// pairedRatios returns num's value of unit divided by den's, one ratio per
// run in which both ran and reported it, in ascending order.
func pairedRatios(unit string, num, den *Row) []float64 {
	if num == nil || den == nil {
		return nil
	}
	var rs []float64
	for round := range num.vals[unit] {
		n, ok1 := num.valueIn(unit, round)
		d, ok2 := den.valueIn(unit, round)
		if ok1 && ok2 && d > 0 {
			rs = append(rs, n/d)
		}
	}
	slices.Sort(rs)
	return rs
}

// unitOr returns unit, or nsOp when it is empty.
func unitOr(unit string) string {
	if unit == "" {
		return nsOp
	}
	return unit
}

// Verdict is a target checked against the results.
type Verdict struct {
	Target Target
	Known  bool    // false when a row it needs did not run
	Value  float64 // the measured ratio, speed-up or allocs/op
	Met    bool
}

// Check evaluates the targets of sec.
func Check(sec *Section) []Verdict {
	var vs []Verdict
	for _, t := range sec.Group.Targets {
		v := Verdict{Target: t}
		row := sec.row(t.Impl)
		switch t.Kind {
		case WithinLimit:
			v.Value, v.Known = pairedRatioOf(unitOr(t.Unit), row, sec.row(limitImpl))
			v.Met = v.Value <= t.X
		case FasterThan:
			v.Value, v.Known = pairedRatioOf(unitOr(t.Unit), sec.row(t.Peer), row)
			v.Met = v.Value >= t.X
		case AtMost:
			if row != nil {
				v.Value, v.Known = row.Metrics[t.Unit]
				v.Met = v.Value <= t.X
			}
		case NoAllocs:
			if row != nil && row.Allocs >= 0 {
				v.Value, v.Known = row.Allocs, true
				v.Met = row.Allocs == 0
			}
		}
		v.Met = v.Met && v.Known
		vs = append(vs, v)
	}
	return vs
}

// Render writes the markdown table of secs to w and returns how many
// targets were checked and how many were met.
func Render(w io.Writer, secs []*Section) (checked, met int) {
	fmt.Fprintln(w, "| group | benchmark | how it is measured | ns/op | B/op | allocs/op | × limit (range) | target | met | other metrics |")
	fmt.Fprintln(w, "|---|---|---|--:|--:|--:|--:|---|---|--:|")
	for _, sec := range secs {
		verdicts := Check(sec)
		limit := sec.row(limitImpl)
		for i, r := range sec.Rows {
			group := ""
			if i == 0 {
				group = "**" + sec.Group.Name + "**"
				if sec.Group.Title != "" {
					group += "<br>" + sec.Group.Title
				}
			}
			unit := unitOr(sec.Group.Unit)
			ratio := ""
			switch {
			case r == limit:
				ratio = "1.00 (limit)"
			case limit != nil:
				if rs := pairedRatios(unit, r, limit); len(rs) > 0 {
					ratio = fmtRatio(median(rs))
					if len(rs) > 1 {
						// The spread over the runs says how far to trust it.
						ratio += fmt.Sprintf(" (%s–%s)", fmtRatio(rs[0]), fmtRatio(rs[len(rs)-1]))
					}
				}
			}
			if r != limit && ratio != "" && unit != nsOp {
				ratio += " of " + unit
			}
			var targets, mets []string
			for _, v := range verdicts {
				if v.Target.Impl != r.Impl {
					continue
				}
				targets = append(targets, describe(v))
				checked++
				switch {
				case !v.Known:
					mets = append(mets, "n/a")
				case v.Met:
					mets = append(mets, "yes")
					met++
				default:
					mets = append(mets, "**no**")
				}
			}
			var metrics []string
			for _, u := range r.Units {
				metrics = append(metrics, fmtMetric(r.Metrics[u])+" "+u)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				group, cell(r.Impl), cell(sec.Group.Impls[r.Impl]),
				fmtNs(r.NsOp), fmtCount(r.BOp), fmtCount(r.Allocs), ratio,
				strings.Join(targets, "<br>"), strings.Join(mets, "<br>"),
				cell(strings.Join(metrics, "<br>")))
		}
	}
	return checked, met
}

// describe says what a target asks and what was measured.
func describe(v Verdict) string {
	got := "not measured"
	switch v.Target.Kind {
	case WithinLimit:
		if v.Known {
			got = fmtRatio(v.Value)
		}
		return fmt.Sprintf("≤ %s× limit%s (%s)", fmtX(v.Target.X), inUnit(v.Target.Unit), got)
	case FasterThan:
		if v.Known {
			got = fmtRatio(v.Value)
		}
		return fmt.Sprintf("≥ %s× faster than %s%s (%s)", fmtX(v.Target.X), v.Target.Peer, inUnit(v.Target.Unit), got)
	case AtMost:
		if v.Known {
			got = fmtMetric(v.Value)
		}
		return fmt.Sprintf("≤ %s %s (%s)", fmtX(v.Target.X), v.Target.Unit, got)
	case NoAllocs:
		if v.Known {
			got = fmtCount(v.Value)
		}
		return fmt.Sprintf("0 allocs/op (%s)", got)
	}
	return "?"
}

// inUnit says in which unit a ratio target is taken, when not in ns/op.
func inUnit(unit string) string {
	if unit == "" || unit == nsOp {
		return ""
	}
	return " in " + unit
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func fmtNs(ns float64) string {
	switch {
	case ns < 10:
		return strconv.FormatFloat(ns, 'f', 2, 64)
	case ns < 1000:
		return strconv.FormatFloat(ns, 'f', 1, 64)
	}
	return thousands(int64(math.Round(ns)))
}

// fmtMetric formats a custom metric: two decimals below 10, one below
// 1000, then whole with thousands separators.
func fmtMetric(v float64) string { return fmtNs(v) }

func fmtCount(v float64) string {
	if v < 0 {
		return "–"
	}
	return thousands(int64(math.Round(v)))
}

func fmtRatio(x float64) string {
	if x >= 100 {
		return strconv.FormatFloat(x, 'f', 0, 64) + "×"
	}
	return strconv.FormatFloat(x, 'f', 2, 64) + "×"
}

func fmtX(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func medianOr(v []float64, none float64) float64 {
	if len(v) == 0 {
		return none
	}
	return median(v)
}

// rank orders a group's rows: the limit, then tiercache's, then the peers;
// within each, by name (the order in which they ran may be random).
func rank(impl string) int {
	switch {
	case impl == limitImpl:
		return 0
	case strings.HasPrefix(impl, "tiercache"):
		return 1
	}
	return 2
}
