// Package integration holds authgate's end-to-end tests: the real server on
// a random port against SQLite and PostgreSQL, driven by real client
// libraries (golang.org/x/oauth2), the built binary and a real browser.
//
// It has no non-test code beyond this file.
package integration
