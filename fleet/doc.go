// Package fleet switches dflag flags across every instance of a service
// through etcd, without taking local control away.
//
// Each key under a prefix (default /dflag/) holds a terms specification in
// dflag's startup syntax, as in DFLAG (or, one per line with # comments, as
// in DFLAG_FILE):
//
//	/dflag/breakers   -breaker:payment !crashy:legacy_export
//	/dflag/advice     +advice:cache_stats
//
// The union of all keys is in force, each key as its own owned hold
// (dflag.NewHold) named "etcd:<key>": writing a key replaces that key's
// terms (only the difference is applied, so a flag that both the old and
// the new value keep never flips in between) and deleting it restores
// exactly what it changed. Holds compose with local control as the dflag
// package defines: a key's "-re" forces a flag off while it is in force,
// whoever else activates it; an operator's local unhook beats a key's
// "+re"; and an operator's local trip survives a key that trips and clears.
//
// # Following etcd
//
// [Start] reads the whole prefix, then watches it from the next revision.
// Each reconnection re-reads the prefix and converges on it (keys gone
// release their holds), so a cluster restored from a backup or wiped and
// restarted, whose revision went backwards, is followed as well as one
// that only blinked; a watch whose history was compacted re-reads too. The
// same value delivered twice, or a re-read that finds nothing new, changes
// nothing. Reconnection backs off to at most Config.MaxBackoff (1s), so a
// change made during an outage is in force a second or so after etcd is
// back.
//
// While etcd is unreachable the last state stays in force, and the bridge
// says how stale it is: [Bridge.Connected] and [Bridge.Age], the JSON of
// [Bridge.ServeHTTP], the log, and the OpenTelemetry gauges
// dflag.fleet.connected and dflag.fleet.sync.age. With Config.StateFile the
// state is also kept on disk, so that an instance restarted during the
// outage starts with, say, a tripped breaker still tripped.
//
// # Refused values
//
// A value that does not parse, or that holds a rehook ("?re": a fleet key
// cannot take away another owner's unhook), or a term whose pattern matches
// every flag ("-", "+.*") unless Config.AllowMatchAll, is refused and
// reported (log, [Status], the dflag.fleet.refused counter): the key's last
// valid terms stay in force and other keys are unaffected.
//
// # Security
//
// Whoever can write the prefix can switch code on every instance. The
// bridge speaks TLS (Config.CACert, client certificates with Config.Cert
// and Config.Key) and etcd's user and password authentication, and refuses
// a plain-text connection to an endpoint that is not a loopback address
// unless Config.InsecurePlaintext. Give each instance an etcd user whose
// role may only read its prefix; docs/fleet.md shows the etcdctl commands.
//
// # Wiring
//
// [Config.RegisterFlags] defines -etcd, -etcd-prefix and the TLS and
// authentication flags, with DFLAG_ETCD_* environment variables as
// defaults. With no endpoints [Start] returns a nil *Bridge, whose methods
// do nothing, so a program needs no special case when fleet control is off.
//
// The package is its own module, bounded.dev/fleet, so that only programs
// that import it need the etcd client to build.
package fleet
