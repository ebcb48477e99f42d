//! One method per file.

pub mod regression;
