//! One method per file.

pub mod linrep;
pub mod single_index;
