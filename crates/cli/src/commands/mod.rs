//! One module per subcommand family.

pub mod angles;
pub mod run;
