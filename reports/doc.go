// Package reports turns evalctl result records into human-readable reports.
//
// It reads records only and never runs anything: a [Summary] accumulates
// records one at a time with [Summary.Add] (from a file, standard input or a
// live run) and renders them afterwards, as Markdown tables with
// [Summary.Markdown] or as plots of each metric against context length with
// [Summary.Plots]. A new output format is a new renderer over the same
// accumulated Summary; it never touches the runner.
//
// Values are grouped by (task, metric, backend label, context length).
// Needle depth and sample index are pooled: each record contributes one value
// to its group, so a group's mean is the mean over all depths and samples.
// Per-depth views belong to other reporters (heatmaps).
//
// The method comparison ([Summary.MethodComparison], the report's "Method
// comparison" section and [Summary.MethodPlots]) sets the backends of each
// task family side by side per length: accuracy, paired difference to
// dense, measured speedup and attended density, with intervals, and names
// the best method by a stated rule (methods.go says which and why).
//
// Statistics never fail a report. Anything that makes a number less
// trustworthy (few samples, error records, inconsistent units, non-finite
// values) is returned as a [Warning] value and printed with the report.
package reports
