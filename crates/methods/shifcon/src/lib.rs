//! ShifCon (Zhang et al., ACL 2025; PAPERS.md §5): non-dominant languages are shifted into the
//! dominant language's subspace inside a band of middle layers that a subspace distance selects.
//!
//! Training a 7B model is out of scope, so hidden states come from a synthetic multilingual model
//! with a planted low-distance band ([`source::World`]) or from files a user dumped from a real
//! model ([`states::LoadedStates`]); every analysis runs on either through [`source::States`].

pub mod contrastive;
pub mod distance;
pub mod lda;
pub mod method;
pub mod probe;
pub mod shift;
pub mod source;
pub mod states;

pub use method::register;
