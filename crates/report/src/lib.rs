//! What a reader of the papers looks at: stored trials aggregated with polars (mean, spread and
//! 95% intervals over seeds), the spec's claims evaluated as checks, paper-style tables (HTML,
//! Markdown, LaTeX) and SVG figures, in self-contained HTML pages.
//!
//! This crate reads result stores and writes report files (the pipeline from a store to its page
//! is [`pipeline`], the summary table [`summary`]); it never runs trials, never prints and never
//! decides exit codes.

pub mod aggregate;
pub mod bundle;
pub mod checks;
pub mod citation;
pub mod compare;
pub mod failures;
pub mod figures;
pub mod grouping;
pub mod heatmap;
pub mod junit;
pub mod latex;
pub mod page;
pub mod pipeline;
pub mod stats;
pub mod summary;
pub mod svg;
pub mod tables;
pub mod verdicts;

use thiserror::Error;

/// Why a report or check could not be produced.
#[derive(Debug, Error)]
pub enum ReportError {
    /// The stored data is missing or unreadable.
    #[error("{0}")]
    Data(String),
    /// A file could not be written.
    #[error("{path}: {message}")]
    Write { path: String, message: String },
    /// The page template failed to render (a bug).
    #[error("template: {0}")]
    Template(String),
    /// The store (or a spec) could not be read, as the harness says.
    #[error(transparent)]
    Harness(#[from] harness::HarnessError),
}

pub use aggregate::{aggregate, aggregate_curves, Aggregate, CurveAggregate, Group, Stats};
pub use checks::{evaluate_checks, CheckOutcome, SeedTally};
pub use page::{
    pages_line, update_index, write_index, write_spec_report, SpecSummary, StoreProblem,
};
pub use pipeline::{
    baseline_path, evaluate_spec, find_baselines, pages_dir, render_all, render_spec, trial_ids,
    Evaluated, Rendered, Sweeps, DEFAULT_BASELINES,
};
pub use summary::{summarize, write_summary, StoreSummary, SummaryFormat};
pub use verdicts::{check_line, check_markdown, CheckTotals};
