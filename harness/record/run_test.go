package record

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func touch(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSegments(t *testing.T) {
	dir := t.TempDir()
	if segs, err := Segments(dir); err != nil || len(segs) != 0 {
		t.Fatalf("empty dir: %v %v", segs, err)
	}
	if next, err := NextSegment(dir); err != nil || next != filepath.Join(dir, "records-0001.jsonl.zst") {
		t.Fatalf("NextSegment of empty dir: %v %v", next, err)
	}
	touch(t, dir, "records-0002.jsonl.zst", "records-0010.jsonl.zst", "records-0001.jsonl",
		"manifest.json", "records-0003.jsonl.zst.tmp", "records-3.jsonl.zst", "report.md")
	if err := os.Mkdir(filepath.Join(dir, "records-0099.jsonl.zst"), 0o755); err != nil {
		t.Fatal(err)
	}
	segs, err := Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range segs {
		names = append(names, filepath.Base(s))
	}
	want := []string{"records-0001.jsonl", "records-0002.jsonl.zst", "records-0010.jsonl.zst"}
	if !slices.Equal(names, want) {
		t.Fatalf("Segments = %v, want %v", names, want)
	}
	if next, err := NextSegment(dir); err != nil || filepath.Base(next) != "records-0011.jsonl.zst" {
		t.Fatalf("NextSegment = %v %v", next, err)
	}
	touch(t, dir, "records-0010.jsonl")
	if _, err := Segments(dir); err == nil || !strings.Contains(err.Error(), "both segment 10") {
		t.Fatalf("two segments 10: %v", err)
	}
	if _, err := Segments(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing dir: %v", err)
	}
	if got := SegmentName(12345); got != "records-12345.jsonl.zst" {
		t.Errorf("SegmentName = %s", got)
	}
}

func TestCreateSegment(t *testing.T) {
	dir := t.TempDir()
	for i, want := range []string{"records-0001.jsonl.zst", "records-0002.jsonl.zst"} {
		w, path, err := CreateSegment(dir)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(path) != want {
			t.Errorf("segment %d: %s, want %s", i, path, want)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadRun reads a run directory of two sessions, the first killed
// mid-frame, and a single file.
func TestReadRun(t *testing.T) {
	dir := t.TempDir()
	recs := testRecords(10)
	first, ends := encodeFile(t, recs[:6], true, 3, 3)
	first = first[:ends[0]+7] // killed while writing its second frame
	if err := os.WriteFile(filepath.Join(dir, SegmentName(1)), first, 0o644); err != nil {
		t.Fatal(err)
	}
	w, path, err := CreateSegment(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[3:] { // resume redoes the lost cells
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, errs, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, recs)
	if len(errs) != 1 || !errors.Is(errs[0], ErrTruncated) ||
		!strings.HasPrefix(errs[0].Error(), filepath.Join(dir, SegmentName(1))+":4: ") {
		t.Fatalf("errors %v", errs)
	}

	got, errs, err = ReadRun(path)
	if err != nil || len(errs) != 0 {
		t.Fatal(err, errs)
	}
	sameRecords(t, got, recs[3:])

	if _, _, err := ReadRun(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no record segments") {
		t.Errorf("empty run dir: %v", err)
	}
	if _, _, err := ReadRun(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v", err)
	}
}
