//! Adversarial attacks on subspace learning (Li, Lai & Cui, IEEE TSP 2020): the perturbation of
//! energy ε that moves the PCA subspace of a data matrix the most, in closed form (rank one and
//! unconstrained), found numerically (projected gradient ascent), and random baselines.
//!
//! The achieved distances are always measured (PCA of X + Δ with the `subspace` crate); the
//! closed-form predictions are reported beside them, never in their place.
//!
//! Methods: `attack.pca` (one synthetic or real matrix, every attack) and `attack.digits`
//! (nearest-subspace digit classification with attacked class matrices).
//!
//! **The budget**, the same in both methods: ε is `budget_rel · (σ_k − σ_{k+1})` when
//! `budget_rel` is given (σ of the attacked matrix), otherwise `budget` (absolute); `budget_rel`
//! wins when a spec gives both. Without either, `attack.pca` uses `budget`'s default 0.1 and
//! `attack.digits` does not attack (ε = 0).

mod closed_form;
pub mod methods;
mod plane;
mod search;

use harness::Registry;

pub use closed_form::{rank_one, unconstrained, unconstrained_budget, PlaneAttack};
pub use methods::digits::DigitsAttack;
pub use methods::pca::PcaAttack;
pub use plane::embed_plane;

/// Register the methods of this paper.
pub fn register(registry: &mut Registry) {
    registry.register(Box::new(PcaAttack));
    registry.register(Box::new(DigitsAttack));
}
