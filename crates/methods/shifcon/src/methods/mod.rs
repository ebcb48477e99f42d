//! One method per file.

pub mod band;
pub mod contrastive;
pub mod distance;
pub mod lda;
pub mod shift;
