//! One method per file.

pub mod angles;
