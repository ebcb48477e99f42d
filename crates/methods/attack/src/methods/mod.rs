//! One method per file.

pub mod digits;
pub mod pca;
