//go:build !race

package server_test

// raceDetector reports a build with -race, where passd's pure-Go SQLite
// runs some twenty times slower.
const raceDetector = false
