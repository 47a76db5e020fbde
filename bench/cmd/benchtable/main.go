// Command benchtable runs the benchmarks of the bench module and prints one
// markdown table: ns/op, B/op and allocs/op of every benchmark, its ratio to
// its group's limit, and whether the group's targets are met.
//
// Usage, from the bench directory (`make bench` does this):
//
//	go run ./cmd/benchtable [-count 5] [-bench regexp] [-benchtime d] [-o RESULTS.md] [-strict] [packages]
//
// It runs `go test -run '^$' -bench <regexp> -benchmem -count 1 <packages>`
// (default ./...) -count times. Each run measures a group's
// implementations back to back, so the ratio of two of them is taken within
// each run and the table shows its median over the runs; ns/op, B/op and
// allocs/op are medians too. Benchmarks are named Benchmark<Group>/<impl>,
// the impl "limit" marking the group's limit; groups and their targets are
// declared in groups.go. See bench/README.md.
//
// Packages that need Redis start their own redis-server; benchtable checks
// that one is installed first and exits with status 2, saying how to get it,
// when it is not. It exits with status 1 when a benchmark fails, and, with
// -strict, when a target is not met.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/tiercache/tiercache/internal/redistest"
)

// benchModule is the module benchtable must run in.
const benchModule = "github.com/tiercache/tiercache/bench"

type config struct {
	count     int
	bench     string
	benchtime string
	timeout   string
	out       string
	strict    bool
	pkgs      []string
}

func main() {
	var c config
	flag.IntVar(&c.count, "count", 5, "how many times to run the benchmarks (each run is one `go test -count 1`)")
	flag.StringVar(&c.bench, "bench", ".", "go test -bench regexp")
	flag.StringVar(&c.benchtime, "benchtime", "", "go test -benchtime (default: go test's, 1s)")
	flag.StringVar(&c.timeout, "timeout", "30m", "go test -timeout of each run")
	flag.StringVar(&c.out, "o", "", "also write a results document (machine, command, table, raw output) to this file")
	flag.BoolVar(&c.strict, "strict", false, "exit with status 1 when a target is not met")
	flag.Parse()
	c.pkgs = flag.Args()
	if len(c.pkgs) == 0 {
		c.pkgs = []string{"./..."}
	}
	if c.count < 1 {
		fail(2, "benchtable: -count must be at least 1")
	}
	os.Exit(run(c))
}

func run(c config) int {
	if mod, err := goOutput("list", "-m"); err != nil || mod != benchModule {
		fail(2, "benchtable: run me from the bench directory of the repository (`make bench` does): "+
			"`go list -m` says %q, want %q (%v)", mod, benchModule, err)
	}
	if _, err := redistest.Binary(); err != nil {
		fail(2, "benchtable: the benchmarks start their own redis-server, and there is none: %v", err)
	}

	args := goTestArgs(c)
	loadBefore := loadAvg()
	var samples []Sample
	var failures []Failure
	var raw bytes.Buffer
	for round := 1; round <= c.count; round++ {
		fmt.Fprintf(os.Stderr, "benchtable: run %d of %d: go %s\n", round, c.count, strings.Join(args, " "))
		out, runErr := goTest(args, fmt.Sprintf("[%d/%d] ", round, c.count))
		raw.Write(out)
		got, err := Parse(bytes.NewReader(out))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for i := range got.Samples {
			got.Samples[i].Round = round
		}
		for i := range got.Failures {
			got.Failures[i].Round = round
		}
		if runErr != nil && len(got.Failures) == 0 {
			got.Failures = append(got.Failures, Failure{Round: round, Line: "go test: " + runErr.Error()})
		}
		samples = append(samples, got.Samples...)
		failures = append(failures, got.Failures...)
	}
	samples = Drop(samples, failures)
	if len(samples) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark result (check -bench, the packages and the output above)")
		return 1
	}

	secs := Build(samples, groups)
	var table bytes.Buffer
	checked, met := Render(&table, secs)
	fmt.Fprintf(&table, "\nTargets met: %d of %d.\n", met, checked)
	if len(failures) > 0 {
		fmt.Fprintf(&table, "\n**Failures** (results of a failed benchmark are left out of its run):\n\n")
		for _, f := range failures {
			fmt.Fprintf(&table, "- run %d: %s: `%s`\n", f.Round, f.Pkg, f.Line)
		}
	}
	os.Stdout.Write(table.Bytes())

	if c.out != "" {
		if err := writeResults(c, args, [2]string{loadBefore, loadAvg()}, table.Bytes(), raw.Bytes()); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "benchtable: wrote", c.out)
	}
	if len(failures) > 0 {
		fmt.Fprintln(os.Stderr, "benchtable: some benchmarks failed; see the output above and the list under the table")
		return 1
	}
	if c.strict && met < checked {
		return 1
	}
	return 0
}

func goTestArgs(c config) []string {
	args := []string{"test", "-run", "^$", "-bench", c.bench, "-benchmem", "-count", "1", "-timeout", c.timeout}
	if c.benchtime != "" {
		args = append(args, "-benchtime", c.benchtime)
	}
	return append(args, c.pkgs...)
}

// goTest runs go with args, copying its output to stderr line by line with
// prefix, and returns the output.
func goTest(args []string, prefix string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			out.Write(sc.Bytes())
			out.WriteByte('\n')
			fmt.Fprintln(os.Stderr, prefix+sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr) // a line over 1 MiB: drain the rest
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	return out.Bytes(), err
}

// writeResults writes the results document: when, where, how, the table
// and the raw output.
func writeResults(c config, args []string, load [2]string, table, raw []byte) error {
	var b bytes.Buffer
	goVersion, _ := goOutput("env", "GOVERSION")
	redisVersion := "unknown"
	if bin, err := redistest.Binary(); err == nil {
		if v, err := exec.Command(bin, "--version").Output(); err == nil {
			redisVersion = strings.TrimSpace(string(v))
		}
	}
	fmt.Fprintf(&b, "# Benchmark results\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %d CPUs (nproc), %s, %s/%s, GOMAXPROCS %d\n",
		runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min) before and after: %s; %s\n", load[0], load[1])
	fmt.Fprintf(&b, "- Go: %s\n", goVersion)
	fmt.Fprintf(&b, "- Redis: %s (started by the benchmarks on a loopback port, no persistence)\n", redisVersion)
	fmt.Fprintf(&b, "- Command: `cd bench && go run ./cmd/benchtable %s`, which ran `go %s` %d times\n\n",
		strings.Join(quoteAll(os.Args[1:]), " "), strings.Join(quoteAll(args), " "), c.count)
	fmt.Fprintf(&b, "ns/op, B/op and allocs/op are medians over the runs. \"× limit\" is the\n"+
		"median of the ratios to the group's limit taken within each run (a group's\n"+
		"implementations run back to back), with the lowest and highest in parentheses;\n"+
		"the speed-ups of the targets are medians of within-run ratios too. Lower is better.\n\n")
	b.Write(table)
	fmt.Fprintf(&b, "\n<details><summary>Raw go test output</summary>\n\n```\n%s```\n\n</details>\n", raw)
	return os.WriteFile(c.out, b.Bytes(), 0o644)
}

// loadAvg returns the load averages of /proc/loadavg, or "unknown": other
// work on the machine moves the numbers, so the results document says how
// busy it was.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "unknown CPU".
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func goOutput(args ...string) (string, error) {
	out, err := exec.Command("go", args...).Output()
	return strings.TrimSpace(string(out)), err
}

// quoteAll quotes the arguments that a shell would not take as they are.
func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$^*?[]()|&;<>\\`") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}
