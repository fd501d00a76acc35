package admin

import "time"

// ReleaseHolds releases every operator's console hold, so that a test
// leaves no hold behind for the next.
func ReleaseHolds() {
	consoleHolds.Lock()
	defer consoleHolds.Unlock()
	for owner, oh := range consoleHolds.m {
		oh.mu.Lock()
		if oh.hold != nil {
			oh.hold.Release()
			oh.hold = nil
		}
		oh.mu.Unlock()
		delete(consoleHolds.m, owner)
	}
}

// WithStatusTimeout shortens StatusTimeout for a test.
func WithStatusTimeout(d time.Duration) Option {
	return func(c *config) { c.statusTimeout = d }
}
