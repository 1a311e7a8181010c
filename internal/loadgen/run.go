// Package loadgen is the closed-loop load generator behind `authgate bench`:
// a fixed number of workers each send one request, wait for its answer and
// send the next, until a request count or a duration is reached. It talks
// to the server only over HTTP, finding the OAuth endpoints through RFC 8414
// metadata, so the token, introspect and refresh scenarios work against any
// compliant authorization server.
//
// See docs/performance.md for the scenarios and how to measure.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of a run. A run must be bounded by a request count or a duration
// (or both); these caps keep a typo from becoming a denial of service.
const (
	MaxConcurrency = 1024
	MaxDuration    = time.Hour
	MaxRequests    = 100_000_000
)

// Scenario is one kind of request. Prepare runs once before the clock
// starts, knowing how many workers there will be (scenarios that keep state
// per worker, such as a refresh-token chain or a browser's cookies, size it
// there); Do then makes one request for worker w and returns the HTTP status
// of the response that decides the outcome (0 when there was none) and an
// error when the request did not succeed.
type Scenario interface {
	Prepare(ctx context.Context, workers int) error
	Do(ctx context.Context, worker int) (status int, err error)
}

// Options bound a run.
type Options struct {
	Concurrency int
	// Requests stops the run after exactly this many requests (0: no count).
	Requests int64
	// Duration stops the run when it has elapsed (0: no time limit);
	// requests still in flight then are abandoned and not counted.
	Duration time.Duration
}

// Validate refuses unbounded or absurd runs.
func (o Options) Validate() error {
	switch {
	case o.Concurrency < 1 || o.Concurrency > MaxConcurrency:
		return fmt.Errorf("concurrency must be 1..%d", MaxConcurrency)
	case o.Requests < 0 || o.Requests > MaxRequests:
		return fmt.Errorf("requests must be 0..%d", MaxRequests)
	case o.Duration < 0 || o.Duration > MaxDuration:
		return fmt.Errorf("duration must be at most %s", MaxDuration)
	case o.Requests == 0 && o.Duration == 0:
		return errors.New("refusing an unbounded run: give --requests, --duration or both")
	}
	return nil
}

// outcome is one finished request.
type outcome struct {
	latency time.Duration
	status  int
	err     error
}

// Run prepares sc and drives it with opts.Concurrency workers. The result
// counts only requests that finished before the run ended. When ctx is
// cancelled mid-run, Run returns the partial result and ctx's error.
func Run(ctx context.Context, sc Scenario, opts Options) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := sc.Prepare(ctx, opts.Concurrency); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Duration > 0 {
		runCtx, cancel = context.WithTimeout(runCtx, opts.Duration)
		defer cancel()
	}
	var issued atomic.Int64
	perWorker := make([][]outcome, opts.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]outcome, 0, 1024)
			for runCtx.Err() == nil {
				if opts.Requests > 0 && issued.Add(1) > opts.Requests {
					break
				}
				t0 := time.Now()
				status, err := sc.Do(runCtx, w)
				lat := time.Since(t0)
				if err != nil && runCtx.Err() != nil {
					break // cut off by the end of the run: not a result
				}
				out = append(out, outcome{latency: lat, status: status, err: err})
			}
			perWorker[w] = out
		}()
	}
	wg.Wait()
	res := summarize(perWorker, time.Since(start), opts.Concurrency)
	// Interrupted (SIGINT): what finished is still worth printing.
	return res, ctx.Err()
}

// Result is what a run measured. Its JSON form is `authgate bench --output
// json`; the field names are stable (docs/performance.md lists them).
type Result struct {
	Scenario    string `json:"scenario"`
	Target      string `json:"target"`
	Concurrency int    `json:"concurrency"`
	// Requests counts finished requests; OK those that succeeded.
	Requests int64 `json:"requests"`
	OK       int64 `json:"ok"`
	Errors   int64 `json:"errors"`
	// DurationSeconds is the wall-clock time of the run.
	DurationSeconds   float64 `json:"duration_seconds"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	Latency           Latency `json:"latency_ms"`
	// Status counts every response by HTTP status ("200": n).
	Status map[string]int64 `json:"status"`
	// ErrorsByStatus counts failed requests by the status that failed
	// them ("429": n); "0" is a transport error (see TransportErrors),
	// a 2xx a response that could not be used (see ResponseErrors).
	ErrorsByStatus map[string]int64 `json:"errors_by_status"`
	// TransportErrors counts requests without a response by cause.
	TransportErrors map[string]int64 `json:"transport_errors"`
	// ResponseErrors counts 2xx responses that were not what the scenario
	// needed (no access_token, no code…) by message.
	ResponseErrors map[string]int64 `json:"response_errors"`
}

// Latency holds percentiles in milliseconds (nearest rank over every
// recorded duration: exact, not bucketed).
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

func summarize(perWorker [][]outcome, elapsed time.Duration, concurrency int) *Result {
	r := &Result{Concurrency: concurrency, DurationSeconds: elapsed.Seconds(), Status: map[string]int64{},
		ErrorsByStatus: map[string]int64{}, TransportErrors: map[string]int64{}, ResponseErrors: map[string]int64{}}
	var lats []time.Duration
	for _, outs := range perWorker {
		for _, o := range outs {
			lats = append(lats, o.latency)
			r.Requests++
			if o.status != 0 {
				r.Status[strconv.Itoa(o.status)]++
			}
			ok2xx := o.status >= 200 && o.status < 300
			switch {
			case o.err == nil && ok2xx:
				r.OK++
				continue
			case o.status == 0:
				r.TransportErrors[transportCause(o.err)]++
			case ok2xx:
				r.ResponseErrors[o.err.Error()]++
			}
			r.Errors++
			r.ErrorsByStatus[strconv.Itoa(o.status)]++
		}
	}
	if elapsed > 0 {
		r.RequestsPerSecond = float64(r.Requests) / elapsed.Seconds()
	}
	r.Latency = Percentiles(lats)
	return r
}

// Percentiles returns the latency summary of ds (sorted in place) by the
// nearest-rank method: the p-th percentile is the smallest value with at
// least p% of the values at or below it.
func Percentiles(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	rank := func(p float64) time.Duration {
		i := int(float64(len(ds))*p/100+0.999999999) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return Latency{Min: ms(ds[0]), Mean: ms(sum / time.Duration(len(ds))), P50: ms(rank(50)), P90: ms(rank(90)),
		P99: ms(rank(99)), Max: ms(ds[len(ds)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// statusError is returned by scenarios for a response whose status is
// not the expected one.
func statusError(resp *http.Response) error {
	return fmt.Errorf("%s %s: %s", resp.Request.Method, resp.Request.URL.Path, resp.Status)
}
