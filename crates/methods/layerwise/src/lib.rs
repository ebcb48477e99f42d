//! Layer-wise preconditioning and provable feature learning (Zhang, Moniri, Nagwekar, Rahman,
//! Xue, Hassani, Matni; ICML 2025): beyond isotropic inputs SGD is a suboptimal feature learner,
//! and layer-wise (KFAC-like) preconditioning restores condition-number-free convergence.
//!
//! This crate holds the linear representation-learning model (`layerwise.linrep`); the
//! single-index model and the remaining optimisers (batch-norm, DFW, Gauss–Newton) are not here yet.

mod linrep;
mod method;

pub use linrep::{gradients, loss, subspace_distance, train, Inputs, Optimizer, Task, Training};
pub use method::{register, LinRep};
