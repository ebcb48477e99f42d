//! One module per subcommand family.

pub mod angles;
pub mod new;
pub mod points;
pub mod report;
pub mod run;
pub mod slurm;
pub mod states;
pub mod variation;
