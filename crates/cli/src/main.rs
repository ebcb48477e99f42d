//! The `subbench` command. A thin layer: parse arguments, call the libraries, turn errors into
//! one line on stderr and an exit code (2 for the user's mistakes, 1 for failures).

mod commands;
mod matrix_file;
mod user_error;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use user_error::UserError;

#[derive(Debug, Parser)]
#[command(name = "subbench", version, about = "Reproduce subspace-learning papers from YAML specs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Principal angles (radians, ascending) between the column spans of two matrices.
    Angles(commands::angles::AnglesArgs),
    /// A Grassmann distance between the column spans of two matrices.
    Distance(commands::angles::DistanceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    subspace::force_single_threaded_blas();
    let outcome = match &cli.command {
        Command::Angles(args) => commands::angles::angles(args),
        Command::Distance(args) => commands::angles::distance(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<UserError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
