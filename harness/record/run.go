package record

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// A run directory results/<run-id>/ holds its records in segments
// records-0001.jsonl.zst, records-0002.jsonl.zst, ...: each session (run or
// resume) writes a new segment and never touches older ones.

// segmentName matches a segment file name; plain ".jsonl" segments, written
// by hand or for debugging, are read too.
var segmentName = regexp.MustCompile(`^records-([0-9]{4,9})\.jsonl(\.zst)?$`)

// SegmentName returns the file name of segment n (from 1).
func SegmentName(n int) string {
	return fmt.Sprintf("records-%04d.jsonl.zst", n)
}

// Segments returns the paths of the record segments in dir, in segment
// order. Two files with the same segment number (records-0001.jsonl and
// records-0001.jsonl.zst) are an error.
func Segments(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type segment struct {
		n    int
		name string
	}
	var segs []segment
	for _, e := range entries {
		m := segmentName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		n, _ := strconv.Atoi(m[1]) // at most 9 digits
		segs = append(segs, segment{n, e.Name()})
	}
	slices.SortFunc(segs, func(a, b segment) int { return a.n - b.n })
	paths := make([]string, len(segs))
	for i, s := range segs {
		if i > 0 && segs[i-1].n == s.n {
			return nil, fmt.Errorf("%s: %s and %s are both segment %d", dir, segs[i-1].name, s.name, s.n)
		}
		paths[i] = filepath.Join(dir, s.name)
	}
	return paths, nil
}

// NextSegment returns the path of the first segment after those in dir,
// which must exist. Two processes may be given the same path: Create
// lets only one of them have it (see CreateSegment).
func NextSegment(dir string) (string, error) {
	segs, err := Segments(dir)
	if err != nil {
		return "", err
	}
	n := 1
	if len(segs) > 0 {
		m := segmentName.FindStringSubmatch(filepath.Base(segs[len(segs)-1]))
		last, _ := strconv.Atoi(m[1])
		n = last + 1
	}
	return filepath.Join(dir, SegmentName(n)), nil
}

// CreateSegment creates the next segment of dir and returns a Writer to it
// and its path, trying the following name if another process took one.
func CreateSegment(dir string) (*Writer, string, error) {
	for range 100 {
		path, err := NextSegment(dir)
		if err != nil {
			return nil, "", err
		}
		w, err := Create(path)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return w, path, err
	}
	return nil, "", fmt.Errorf("%s: no free segment name after 100 tries", dir)
}

// ReadRun reads the records at path: every segment of a run directory, in
// order, or a single file. It returns the records, the per-line errors
// (each a *SyntaxError naming its segment) and a fatal error: path, or a
// segment, could not be read, or a directory has no segments. To read
// standard input use ReadAll.
func ReadRun(path string) ([]*Record, []error, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		return ReadFile(path)
	}
	segs, err := Segments(path)
	if err != nil {
		return nil, nil, err
	}
	if len(segs) == 0 {
		return nil, nil, fmt.Errorf("%s: no record segments (records-NNNN.jsonl.zst)", path)
	}
	var recs []*Record
	var errs []error
	for _, seg := range segs {
		r, e, err := ReadFile(seg)
		recs = append(recs, r...)
		errs = append(errs, e...)
		if err != nil {
			return recs, errs, err
		}
	}
	return recs, errs, nil
}
