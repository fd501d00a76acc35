package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// stateFile is what Config.StateFile holds: the valid values in force.
type stateFile struct {
	Prefix   string            `json:"prefix"`
	Revision int64             `json:"revision"`
	SyncedAt time.Time         `json:"synced_at"` // when this state was last known to match etcd
	Keys     map[string]string `json:"keys"`
}

// loadState puts the state file's keys in force before etcd is reached,
// so that a restart during an outage keeps, say, a tripped breaker. A
// missing file is normal; a malformed one is reported and ignored.
func (b *Bridge) loadState() {
	name := b.cfg.StateFile
	if name == "" {
		return
	}
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var sf stateFile
	if err == nil {
		err = json.Unmarshal(data, &sf)
	}
	if err == nil && sf.Prefix != b.r.prefix {
		err = fmt.Errorf("it is for prefix %q, not %q", sf.Prefix, b.r.prefix)
	}
	if err != nil {
		b.log.Error("fleet: ignoring the state file "+name+": "+err.Error(), "file", name)
		return
	}
	for k, v := range sf.Keys {
		b.put(k, v, 0)
	}
	b.mu.Lock()
	b.rev, b.fromFile, b.syncedAt = sf.Revision, true, sf.SyncedAt
	b.mu.Unlock()
	b.log.Info("fleet: state file in force until etcd is reached", "file", name, "keys", len(sf.Keys), "revision", sf.Revision)
}

// saveState writes the valid values in force to the state file, through a
// temporary file and a rename so that a crash leaves the old or the new.
func (b *Bridge) saveState() {
	name := b.cfg.StateFile
	if name == "" {
		return
	}
	b.mu.Lock()
	sf := stateFile{Prefix: b.r.prefix, Revision: b.rev, SyncedAt: b.syncedAt, Keys: make(map[string]string, len(b.keys))}
	for k, v := range b.keys {
		if v.h != nil {
			sf.Keys[k] = v.value
		}
	}
	b.mu.Unlock()
	data, _ := json.MarshalIndent(sf, "", "  ")
	if slices.Equal(data, b.saved) {
		return
	}
	if err := writeFileAtomic(name, data); err != nil {
		b.log.Error("fleet: writing the state file: "+err.Error(), "file", name)
		return
	}
	b.saved = data
}

func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
