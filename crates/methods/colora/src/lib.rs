//! CoLoRA: collaborative low-rank adaptation (Magakyan, Reisizadeh, Park, Parrilo, Ozdaglar) in
//! its synthetic form, heterogeneous linear regression. One shared adapter (B, A) captures what
//! the users' tasks have in common; a small personal Sᵢ per user adapts it.

mod federated;
pub mod methods;
mod model;

use harness::Registry;

pub use federated::{federated, plateau, Federated, FederatedFit, Moments, Schedule};
pub use methods::regression::Regression;
pub use model::{
    colora, convergence_rate, oracle, relative_errors, shaped_block, Block, Fit, Problem,
    ProblemSpec, User,
};

/// Register the methods of this paper.
pub fn register(registry: &mut Registry) {
    registry.register(Box::new(Regression));
}
