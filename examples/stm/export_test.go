package stm

// SetHooks installs the test hooks; call it only while no reader or
// writer runs. It returns a function that removes them.
func SetHooks(noGrace bool, check, mid func()) (restore func()) {
	skipGrace, afterCheck, midBatch = noGrace, check, mid
	return func() { skipGrace, afterCheck, midBatch = false, nil, nil }
}
