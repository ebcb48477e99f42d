//! One module per subcommand family.

pub mod angles;
pub mod bundle;
pub mod compare;
pub mod env;
pub mod new;
pub mod points;
pub mod report;
pub mod run;
pub mod slurm;
pub mod states;
pub mod variation;
pub mod verify;
