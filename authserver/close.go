package authserver

// Close stops the background reloads of the revocation state.
func (s *Server) Close() error {
	s.revs.stop()
	return nil
}
