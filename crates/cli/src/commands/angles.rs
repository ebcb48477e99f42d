//! `subbench angles` and `subbench distance`: principal angles and Grassmann distances between
//! the column spans of two matrices stored in files.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use ndarray::Array2;
use serde_json::json;
use subspace::{principal_angles, Distance, PrincipalAngles, SubspaceError};

use crate::matrix_file::read_matrix;
use crate::user_error::UserError;

#[derive(Debug, Args)]
pub struct AnglesArgs {
    /// n × k₁ matrix (.npy float64 or headerless .csv) whose columns span the first subspace.
    pub a: PathBuf,
    /// n × k₂ matrix whose columns span the second subspace.
    pub b: PathBuf,
    /// Print a JSON object instead of one angle per line.
    #[arg(long)]
    pub json: bool,
    /// Also print the principal vectors (columns, one pair per angle).
    #[arg(long)]
    pub vectors: bool,
}

#[derive(Debug, Args)]
pub struct DistanceArgs {
    /// Which distance: a name from the list below, or `all`.
    #[arg(long, default_value = "all", long_help = metric_help())]
    pub metric: String,
    /// n × k₁ matrix (.npy float64 or headerless .csv).
    pub a: PathBuf,
    /// n × k₂ matrix.
    pub b: PathBuf,
}

fn metric_help() -> String {
    let names: Vec<&str> = Distance::ALL.iter().map(|d| d.name()).collect();
    format!("Which distance: all, or one of {}", names.join(", "))
}

/// `None` stands for `all`.
fn parse_metric(s: &str) -> Result<Option<Distance>, UserError> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    s.parse::<Distance>()
        .map(Some)
        .map_err(|e| UserError::new(format!("--metric: {e}, or all")))
}

/// Angles (and vectors) of the spans in two files; every input problem is a [`UserError`].
fn angles_of_files(a: &Path, b: &Path, with_vectors: bool) -> Result<PrincipalAngles, UserError> {
    let (ma, mb) = (read_matrix(a)?, read_matrix(b)?);
    principal_angles(ma.view(), mb.view(), with_vectors).map_err(|e| describe(e, a, b, &ma, &mb))
}

/// Turn a math error into a sentence about the user's files.
fn describe(e: SubspaceError, a: &Path, b: &Path, ma: &Array2<f64>, mb: &Array2<f64>) -> UserError {
    let (a, b) = (a.display(), b.display());
    UserError::new(match e {
        SubspaceError::RowMismatch { .. } => format!(
            "{a} has {} rows but {b} has {}; both bases must have one row per ambient coordinate",
            ma.nrows(),
            mb.nrows()
        ),
        SubspaceError::RankDeficient {
            cols,
            rank,
            tolerance,
        } => {
            // Say which file: re-check each on its own.
            let culprit = if subspace::orthonormal_basis(ma.view(), Default::default()).is_err() {
                a
            } else {
                b
            };
            format!(
                "{culprit}: the {cols} columns have numerical rank {rank} (tolerance {tolerance:.3e}); \
                 the columns of a basis must be linearly independent"
            )
        }
        other => format!("{a}, {b}: {other}"),
    })
}

pub fn angles(args: &AnglesArgs) -> Result<()> {
    let result = angles_of_files(&args.a, &args.b, args.vectors)?;
    if args.json {
        let mut object = json!({ "angles": result.angles.to_vec() });
        if let Some((u, v)) = &result.vectors {
            object["vectors"] = json!({ "a": columns(u), "b": columns(v) });
        }
        say!("{object}");
        return Ok(());
    }
    for theta in &result.angles {
        // `{:?}` is Rust's shortest representation that parses back to the same f64.
        say!("{theta:?}");
    }
    if let Some((u, v)) = &result.vectors {
        for (label, m) in [("a", u), ("b", v)] {
            say!("# principal vectors in {label}, one column per angle");
            for row in m.rows() {
                let cells: Vec<String> = row.iter().map(|x| format!("{x:?}")).collect();
                say!("{}", cells.join(","));
            }
        }
    }
    Ok(())
}

fn columns(m: &Array2<f64>) -> Vec<Vec<f64>> {
    m.columns().into_iter().map(|c| c.to_vec()).collect()
}

pub fn distance(args: &DistanceArgs) -> Result<()> {
    let metric = parse_metric(&args.metric)?;
    let result = angles_of_files(&args.a, &args.b, false)?;
    let angles = result.angles.as_slice().expect("contiguous");
    match metric {
        Some(metric) => say!("{:?}", metric.from_angles(angles)),
        None => {
            for metric in Distance::ALL {
                say!("{} {:?}", metric.name(), metric.from_angles(angles));
            }
        }
    }
    Ok(())
}
