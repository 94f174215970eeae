// chanbench-go measures Go's buffered channel with the same workloads as bench-channel (C):
// SPSC and MPSC (2 producers) throughput through one channel of capacity 1024, and a two-goroutine
// ping-pong round trip over two channels. It runs with Go's defaults (GOMAXPROCS = number of CPUs).
//
// Output, one line per measurement of one repetition:
//
//	sample go_spsc_throughput <value> msg/s
//	sample go_spsc_cpu <value> cpu-ns/msg    (process CPU time, user + system, per message)
//	sample go_mpsc_throughput ... / go_mpsc_cpu ...
//	sample go_pingpong_rtt <value> ns / go_pingpong_cpu <value> cpu-ns/trip
//
// bench/channel/run.sh runs it several times, interleaved with the C benchmark, and reports the
// best repetition of each.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

const capacity = 1024

// A ping-pong measurement stops after this long (the mean is over the round trips done), as the
// C benchmark's does.
const pingpongBudget = 3 * time.Second

// cpuSeconds returns the CPU time (user + system) of the whole process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) * 1e-9
}

// throughput sends n messages (values 1..n split between producers) through one buffered channel
// to the calling goroutine and returns messages per second, counted from the producers' start to
// the last receive, and the process CPU time per message in ns. The sum of the received values is
// checked so that a lost message is an error.
func throughput(producers int, n uint64) (float64, float64) {
	ch := make(chan uint64, capacity)
	per := n / uint64(producers)
	n = per * uint64(producers)
	var wg sync.WaitGroup
	wg.Add(producers)
	c0 := cpuSeconds()
	start := time.Now()
	for p := 0; p < producers; p++ {
		base := uint64(p) * per
		go func() {
			defer wg.Done()
			for i := uint64(1); i <= per; i++ {
				ch <- base + i
			}
		}()
	}
	var sum uint64
	for i := uint64(0); i < n; i++ {
		sum += <-ch
	}
	elapsed := time.Since(start)
	wg.Wait()
	cpu := cpuSeconds() - c0
	if sum != n*(n+1)/2 {
		fmt.Fprintf(os.Stderr, "chanbench-go: checksum mismatch: %d != %d\n", sum, n*(n+1)/2)
		os.Exit(1)
	}
	return float64(n) / elapsed.Seconds(), cpu * 1e9 / float64(n)
}

// pingpong bounces one message between the calling goroutine and an echo goroutine over two
// channels of capacity 1024 (for at most pingpongBudget), and returns the mean round-trip time in
// ns after a warm-up and the process CPU time per round trip in ns.
func pingpong(n uint64, warmup uint64) (float64, float64) {
	ping := make(chan uint64, capacity)
	pong := make(chan uint64, capacity)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := range ping {
			pong <- v + 1
		}
	}()
	var start time.Time
	var c0 float64
	v := uint64(0)
	done := uint64(0) // timed round trips
	for i := uint64(0); i < warmup+n; i++ {
		if i == warmup {
			c0 = cpuSeconds()
			start = time.Now()
		}
		ping <- v
		v = <-pong
		if i >= warmup {
			done++
			if done%1024 == 0 && time.Since(start) > pingpongBudget {
				break
			}
		}
	}
	elapsed := time.Since(start)
	cpu := cpuSeconds() - c0
	close(ping)
	wg.Wait()
	if done == 0 || v != warmup+done {
		fmt.Fprintf(os.Stderr, "chanbench-go: ping-pong count mismatch: %d != %d\n", v, warmup+done)
		os.Exit(1)
	}
	return float64(elapsed.Nanoseconds()) / float64(done), cpu * 1e9 / float64(done)
}

func main() {
	msgs := flag.Uint64("msgs", 10000000, "messages per throughput measurement")
	trips := flag.Uint64("trips", 1000000, "round trips per ping-pong measurement")
	reps := flag.Int("reps", 1, "repetitions (one sample line per repetition)")
	flag.Parse()
	if *msgs < 2 || *trips < 1 || *reps < 1 {
		fmt.Fprintln(os.Stderr, "chanbench-go: -msgs must be >= 2, -trips and -reps >= 1")
		os.Exit(2)
	}
	fmt.Printf("info go_version %s gomaxprocs %d\n", runtime.Version(), runtime.GOMAXPROCS(0))
	for r := 0; r < *reps; r++ {
		rate, cpu := throughput(1, *msgs)
		fmt.Printf("sample go_spsc_throughput %.4g msg/s\nsample go_spsc_cpu %.4g cpu-ns/msg\n", rate, cpu)
		rate, cpu = throughput(2, *msgs)
		fmt.Printf("sample go_mpsc_throughput %.4g msg/s\nsample go_mpsc_cpu %.4g cpu-ns/msg\n", rate, cpu)
		rtt, cpu := pingpong(*trips, *trips/100)
		fmt.Printf("sample go_pingpong_rtt %.4g ns\nsample go_pingpong_cpu %.4g cpu-ns/trip\n", rtt, cpu)
	}
}
