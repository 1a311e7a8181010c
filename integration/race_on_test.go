//go:build race

package integration

// raceEnabled: this test binary runs under the race detector, so
// buildNotes builds examples/notes with -race too.
const raceEnabled = true
