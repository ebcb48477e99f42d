//! One module per subcommand family.

pub mod angles;
pub mod compare;
pub mod report;
pub mod run;
pub mod slurm;
pub mod states;
