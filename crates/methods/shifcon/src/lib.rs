//! ShifCon (Zhang et al., ACL 2025; docs/papers/shifcon.md): non-dominant languages are shifted into the
//! dominant language's subspace inside a band of middle layers that a subspace distance selects.
//!
//! Training a 7B model is out of scope, so hidden states come from a synthetic multilingual model
//! with a planted low-distance band ([`source::World`]) or from files a user dumped from a real
//! model ([`states::LoadedStates`]); every analysis runs on either through [`source::States`].
//!
//! The methods (`shifcon.distance`, `.shift`, `.band`, `.contrastive`, `.lda`) are in
//! [`methods`], one per file; the parameters they share and the states they all read are
//! [`setup`]'s, the analyses several of them make [`analysis`]'s.

pub mod analysis;
pub mod contrastive;
pub mod corpus;
pub mod distance;
pub mod lda;
pub mod methods;
pub mod probe;
pub mod setup;
pub mod shift;
pub mod source;
pub mod states;

use harness::Registry;

/// Register the methods of this paper.
pub fn register(registry: &mut Registry) {
    registry.register(Box::new(methods::distance::Distance));
    registry.register(Box::new(methods::shift::Shift));
    registry.register(Box::new(methods::band::Band));
    registry.register(Box::new(methods::contrastive::Contrastive));
    registry.register(Box::new(methods::lda::Lda));
}
