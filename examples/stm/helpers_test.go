package stm_test

import "bounded.dev/phase"

func stmKindActivate() func() { return phase.Kind(phase.STM).Activate() }
