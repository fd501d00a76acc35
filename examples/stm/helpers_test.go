package stm_test

import "bounded.dev/phase"

func stmKindActivate() func() { return phase.STM.Kind().Activate() }
