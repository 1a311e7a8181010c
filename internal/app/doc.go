// Package app is authgate's composition root: it opens the database, builds
// every store and service from the configuration, and assembles the gin
// router that `authgate serve` listens with.
//
// Tests use New to run the real server in-process on a random port.
package app
