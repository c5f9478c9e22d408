package harness

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// ManifestName is the manifest's file name inside a run directory.
const ManifestName = "manifest.json"

// Manifest describes a run: what was asked, on what, by which build.
type Manifest struct {
	RunID    string          `json:"run_id"`
	Created  time.Time       `json:"created"`
	Suite    *Suite          `json:"suite"`    // as given (suite_yaml, sets) and as resolved
	Resolved json.RawMessage `json:"resolved"` // canonical JSON of the resolved suite, to check resumes
	Seed     int64           `json:"seed"`
	Limit    int             `json:"limit,omitempty"`
	Shard    string          `json:"shard,omitempty"`
	Cells    int             `json:"cells"` // cells planned for this run (after shard and limit)
	Build    Build           `json:"build"`
	Machine  Machine         `json:"machine"`
	Sessions []Session       `json:"sessions"`
}

// Build identifies the evalctl build.
type Build struct {
	Version   string `json:"version"`
	Revision  string `json:"vcs_revision,omitempty"`
	Modified  bool   `json:"vcs_modified,omitempty"`
	GoVersion string `json:"go_version"`
}

// Machine describes where the run ran.
type Machine struct {
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	CPU      string `json:"cpu_model"`
	Cores    int    `json:"cores"`
	Hostname string `json:"hostname,omitempty"`
}

// Session is one invocation of run or resume on a run directory.
type Session struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"`
	Segment string    `json:"segment"` // records file written by this session
	Workers int       `json:"workers"`
	Skipped int       `json:"skipped"` // cells already done when the session started
	Done    int       `json:"done"`    // records written by this session
	Errors  int       `json:"errors"`  // error records among them
	Status  string    `json:"status"`  // running, complete, interrupted, failed
}

// CurrentBuild reports the running binary's version and VCS revision.
func CurrentBuild(version string) Build {
	b := Build{Version: version, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
		if b.Version == "" || b.Version == "dev" {
			if v := info.Main.Version; v != "" && v != "(devel)" {
				b.Version = v
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// CurrentMachine describes this machine.
func CurrentMachine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, Cores: runtime.NumCPU(), CPU: cpuModel()}
	m.Hostname, _ = os.Hostname()
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return ParseManifest(b, p)
}

// ParseManifest parses a manifest's JSON; name is used in errors.
func ParseManifest(b []byte, name string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: not a valid manifest: %v", name, err)
	}
	if m.Suite == nil || m.RunID == "" {
		return nil, fmt.Errorf("%s: not a valid manifest: missing run_id or suite", name)
	}
	return &m, nil
}

// Write writes the manifest atomically (temporary file, then rename).
func (m *Manifest) Write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".manifest-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, ManifestName))
}
