package sqlarchive

// CheckValue returns the error the table would return for storing value
// because it cannot encode it, or nil (see cache.ValueChecker).
func (s *shared[R]) CheckValue(value R) error {
	return s.t.Load().CheckValue(value)
}
