//! CoLoRA: collaborative low-rank adaptation (Magakyan, Reisizadeh, Park, Parrilo, Ozdaglar) in
//! its synthetic form, heterogeneous linear regression. One shared adapter (B, A) captures what
//! the users' tasks have in common; a small personal Sᵢ per user adapts it.

mod federated;
mod method;
mod model;

pub use federated::{federated, plateau, Federated, FederatedFit, Moments, Schedule};
pub use method::{register, Regression};
pub use model::{
    colora, oracle, relative_errors, shaped_block, Block, Fit, Problem, ProblemSpec, User,
};
