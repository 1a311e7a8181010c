package testenv

// Restart closes the application and builds a new one on the same
// database, configuration, clock and issuer URL, as restarting `authgate
// serve` would: nothing held in memory survives, what is in the database
// does. The seeded users are not created again.
func (e *Env) Restart() {
	e.t.Helper()
	if err := e.App.Close(); err != nil {
		e.t.Fatalf("testenv: close the application: %v", err)
	}
	e.App = e.rebuild()
}
