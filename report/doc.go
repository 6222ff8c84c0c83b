// Package report turns a finished search, experiment or retraining into
// what people read: plots (PNG and SVG) and tables in the paper's style
// (per trial and iteration the architecture, accuracy and rank; best per
// trial; mean ± std; the exact random baseline), written as report.md and a
// self-contained report.html.
//
// The work is in three layers so each can be checked on its own: a Report
// holds the data read from workflow histories (FromTrail); Figures turns it
// into a model of series (what each plot shows, as numbers); Render and
// Write draw that model and lay out the documents.
package report
