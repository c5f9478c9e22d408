package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// csvHeader is the header row written by [Summary.CSV].
var csvHeader = []string{
	"task", "metric", "kind", "unit", "better", "backend", "length",
	"n", "mean", "median", "stddev", "min", "max", "ci_low", "ci_high", "errors",
}

// CSV writes the summary as comma-separated values (RFC 4180, through
// encoding/csv): a header row, then one row per (task, metric, backend,
// length) group with the columns
//
//	task, metric, kind, unit, better, backend, length,
//	n, mean, median, stddev, min, max, ci_low, ci_high, errors
//
// Rows are ordered by task (sorted), metric (in [Summary.Metrics] order),
// backend (in [Summary.Backends] order, first seen first) and length
// (ascending). A group is listed when it has a finite value or its
// (backend, length) has error records; errors is the number of error
// records of that (task, backend, length), so it repeats on every metric
// of the cell. Numbers are written with strconv 'g' and the shortest
// precision that round-trips; length is the plain token count. Cells with
// no value are empty: the statistics of a group without finite values,
// stddev when n < 2, and ci_low and ci_high when the group has no interval.
// better is "higher", "lower" or empty. A task whose records all failed has
// no metric and so no row.
//
// Like [Summary.Markdown], the output depends only on the records added.
func (s *Summary) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("reports: csv: %w", err)
	}
	row := make([]string, len(csvHeader))
	for _, task := range s.Tasks() {
		backends := s.Backends(task)
		lengths := s.Lengths(task)
		for _, m := range s.Metrics(task) {
			for _, b := range backends {
				for _, l := range lengths {
					st, ok := s.Cell(task, m.Name, b, l)
					errs := s.Errors(task, b, l)
					if !ok && errs == 0 {
						continue
					}
					clear(row)
					row[0], row[1], row[2], row[3], row[4] = task, m.Name, string(m.Kind), m.Unit, string(m.Better)
					row[5], row[6] = b, strconv.Itoa(l)
					if ok {
						row[7] = strconv.Itoa(st.N)
						row[8] = csvFloat(st.Mean)
						row[9] = csvFloat(st.Median)
						if st.N >= 2 {
							row[10] = csvFloat(st.StdDev)
						}
						row[11] = csvFloat(st.Min)
						row[12] = csvFloat(st.Max)
						if st.HasInterval {
							row[13] = csvFloat(st.Low)
							row[14] = csvFloat(st.High)
						}
					} else {
						row[7] = "0"
					}
					row[15] = strconv.Itoa(errs)
					if err := cw.Write(row); err != nil {
						return fmt.Errorf("reports: csv: %w", err)
					}
				}
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("reports: csv: %w", err)
	}
	return nil
}

// csvFloat formats a value for CSV: the shortest 'g' form that parses back
// to the same float64.
func csvFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}
