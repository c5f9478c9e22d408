//go:build race

package flash

// raceEnabled trims the test matrix under the race detector, which slows
// these numeric loops by an order of magnitude; the full matrix runs
// without it.
const raceEnabled = true
