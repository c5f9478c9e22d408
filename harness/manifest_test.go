package harness_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evalctl/evalctl/harness"
)

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runSuite(t, context.Background(), behaviourSuite("ok"), dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "r", harness.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := harness.ParseManifest(b, "m.json")
	if err != nil {
		t.Fatal(err)
	}
	if m.RunID != "r" || m.Suite.Name != "b" || m.Cells != 8 || len(m.Sessions) != 1 || m.Sessions[0].End.Before(m.Sessions[0].Start) || m.Suite.Timeout != harness.Duration(100*time.Millisecond) {
		t.Errorf("manifest %+v", m)
	}
	for _, bad := range []string{"", "{", `{"run_id": "x"}`, `{"suite": {}}`, `{"run_id": 3}`} {
		if _, err := harness.ParseManifest([]byte(bad), "m.json"); err == nil || !strings.Contains(err.Error(), "m.json") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"run_id":"r","suite":{"name":"s","timeout":"1s"},"sessions":[{"start":"2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"run_id":"r","suite":{"timeout":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := harness.ParseManifest(b, "f.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.json: ") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if m.RunID == "" || m.Suite == nil {
			t.Fatalf("accepted a manifest without run id or suite")
		}
	})
}
