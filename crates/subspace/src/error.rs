use thiserror::Error;

/// Everything that can go wrong in the subspace computations. Messages are sentences a user can act on.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SubspaceError {
    /// The two bases live in spaces of different dimension.
    #[error("the bases have {left} and {right} rows; both must live in the same ambient space")]
    RowMismatch { left: usize, right: usize },
    /// A basis with no columns (or no rows) spans nothing we can measure.
    #[error(
        "a basis is empty ({rows} × {cols}); a subspace needs at least one row and one column"
    )]
    Empty { rows: usize, cols: usize },
    /// NaN or ±∞ in an input.
    #[error("entry ({row}, {col}) is {value}; every entry must be finite")]
    NonFinite { row: usize, col: usize, value: f64 },
    /// The columns do not span a space of their own count.
    #[error(
        "the {cols} columns have numerical rank {rank} (singular values below {tolerance:.3e} \
         count as zero); pass linearly independent columns or ask for truncation"
    )]
    RankDeficient {
        cols: usize,
        rank: usize,
        tolerance: f64,
    },
    /// A parameter outside its documented domain.
    #[error("{0}")]
    InvalidArgument(String),
    /// LAPACK reported a failure (e.g. an SVD that did not converge).
    #[error("LAPACK failed: {0}")]
    Lapack(String),
}

impl From<ndarray_linalg::error::LinalgError> for SubspaceError {
    fn from(e: ndarray_linalg::error::LinalgError) -> Self {
        SubspaceError::Lapack(e.to_string())
    }
}
