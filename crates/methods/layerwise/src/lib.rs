//! Layer-wise preconditioning and provable feature learning (Zhang, Moniri, Nagwekar, Rahman,
//! Xue, Hassani, Matni; ICML 2025): beyond isotropic inputs SGD is a suboptimal feature learner,
//! and layer-wise (KFAC-like) preconditioning restores condition-number-free convergence.
//!
//! Models: linear representation learning (`layerwise.linrep`: SGD, Adam, batch-norm, AMD, DFW,
//! KFAC, damped Gauss–Newton) and the first step of single-index learning
//! (`layerwise.single_index`: alignment of the learned direction against closed-form
//! predictions, and the test error of the network after a ridge fit of its second layer).

mod linrep;
pub mod methods;
mod single_index;

use harness::Registry;

pub use linrep::{
    gauss_newton, gradients, loss, subspace_distance, train, Inputs, Optimizer, Task, Training,
};
pub use methods::linrep::LinRep;
pub use methods::single_index::SingleIndex;
pub use single_index::{predicted_alignment, Design, Link, Step};

/// Register the methods of this paper.
pub fn register(registry: &mut Registry) {
    registry.register(Box::new(LinRep));
    registry.register(Box::new(SingleIndex));
}
