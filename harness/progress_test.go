package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	got := progressLine(45, 180, 2, 20*time.Second)
	want := "[=======>                      ] 45/180 cells  2.25/s  ETA 1m0s  2 errors"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := progressLine(0, 10, 0, 0); !strings.Contains(got, "ETA ?") {
		t.Errorf("no rate yet: %q", got)
	}
	if got := progressLine(10, 10, 0, time.Second); !strings.HasPrefix(got, "[==============================]") {
		t.Errorf("complete: %q", got)
	}
}

func TestProgressBarDraws(t *testing.T) {
	var buf bytes.Buffer
	b := newProgressBar(&buf, 3)
	b.add(true)
	b.add(false)
	b.add(true)
	b.finish()
	b.finish() // idempotent
	out := buf.String()
	if !strings.Contains(out, "3/3 cells") || !strings.Contains(out, "1 errors") || !strings.HasSuffix(out, "\n") {
		t.Errorf("bar output %q", out)
	}
}
