//! Adversarial attacks on subspace learning (Li, Lai & Cui, IEEE TSP 2020): the perturbation of
//! energy ε that moves the PCA subspace of a data matrix the most, in closed form (rank one and
//! unconstrained), found numerically (projected gradient ascent), and random baselines.
//!
//! The achieved distances are always measured (PCA of X + Δ with the `subspace` crate); the
//! closed-form predictions are reported beside them, never in their place.

mod closed_form;
mod digits;
mod method;
mod search;

pub use closed_form::{rank_one, unconstrained, unconstrained_budget, PlaneAttack};
pub use digits::DigitsAttack;
pub use method::{register, PcaAttack};
