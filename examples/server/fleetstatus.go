package main

import (
	"math"
	"time"

	"bounded.dev/fleet"
)

// fleetPanel is the fleet bridge's state as the console's status panel
// shows it (admin.WithStatus "fleet"): flat, so that each value is one
// item of the panel, in this order.
type fleetPanel struct {
	Connected bool    `json:"connected"`
	Age       float64 `json:"age_seconds"`         // how stale the state in force may be; 0 while connected
	LastSync  string  `json:"last_sync,omitempty"` // when it last matched etcd, while disconnected
	LastError string  `json:"last_error"`          // the bridge's last error, "" if none
	Keys      int     `json:"keys"`                // keys under the prefix, each an owner etcd:<key>
	Refused   int     `json:"refused"`             // keys whose latest value was refused
	Revision  int64   `json:"revision"`            // the etcd revision in force
	Prefix    string  `json:"prefix"`
	FromFile  bool    `json:"from_file,omitempty"` // the state came from the state file; etcd not reached yet
}

// fleetStatus returns the console's status function for the bridge.
func fleetStatus(b *fleet.Bridge) func() any {
	return func() any {
		st := b.Status()
		p := fleetPanel{
			Connected: st.Connected,
			Age:       math.Round(st.Age.Seconds()*10) / 10,
			LastError: st.LastError,
			Keys:      len(st.Keys),
			Revision:  st.Revision,
			Prefix:    st.Prefix,
			FromFile:  st.FromFile,
		}
		if !st.Connected && !st.LastSync.IsZero() {
			p.LastSync = st.LastSync.UTC().Format(time.RFC3339)
		}
		for _, k := range st.Keys {
			if k.Refused != "" {
				p.Refused++
			}
		}
		return p
	}
}
