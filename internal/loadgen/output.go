package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteJSON writes r as one indented JSON document.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r as a table for people.
func (r *Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\t%s\ntarget\t%s\nconcurrency\t%d\n", r.Scenario, r.Target, r.Concurrency)
	fmt.Fprintf(tw, "requests\t%d (%d ok, %d errors)\nduration\t%.2fs\nrequests/s\t%.1f\n",
		r.Requests, r.OK, r.Errors, r.DurationSeconds, r.RequestsPerSecond)
	l := r.Latency
	fmt.Fprintf(tw, "latency (ms)\tp50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (min %.2f, mean %.2f)\n", l.P50, l.P90, l.P99, l.Max, l.Min, l.Mean)
	for _, k := range sortedKeys(r.Status) {
		fmt.Fprintf(tw, "status %s\t%d\n", k, r.Status[k])
	}
	for _, k := range sortedKeys(r.ErrorsByStatus) {
		fmt.Fprintf(tw, "errors, status %s\t%d\n", k, r.ErrorsByStatus[k])
	}
	for _, k := range sortedKeys(r.TransportErrors) {
		fmt.Fprintf(tw, "errors, transport\t%d × %s\n", r.TransportErrors[k], k)
	}
	for _, k := range sortedKeys(r.ResponseErrors) {
		fmt.Fprintf(tw, "errors, response\t%d × %s\n", r.ResponseErrors[k], k)
	}
	return tw.Flush()
}
