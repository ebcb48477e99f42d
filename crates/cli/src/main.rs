//! The `subbench` command. A thin layer: parse arguments, call the libraries, turn errors into
//! one line on stderr and an exit code (2 for the user's mistakes, 1 for failures).

/// `println!` for the command's output, without the panic on a closed pipe: `subbench list |
/// head -1` closes stdout early, and `check A B C | head -1` must still run every spec, write
/// its reports and exit with its own code. Output that nobody reads any more is dropped.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` likewise.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod build_info;
mod commands;
mod exit_code;
mod matrix_file;
mod progress;
mod registry;
mod user_error;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "subbench",
    version,
    about = "Reproduce subspace-learning papers from YAML specs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the trials of specs (files or folders) that are not stored yet.
    Run(commands::run::RunArgs),
    /// Check specs without running anything.
    Validate(commands::run::ValidateArgs),
    /// List the methods a spec can name, with their parameters; or, given a spec, its points.
    List(commands::run::ListArgs),
    /// Write a first spec for a method (or an external manifest) that validates and runs.
    New(commands::new::NewArgs),
    /// Fold the finished shards of a cluster run into the spec's store.
    Merge(commands::slurm::MergeArgs),
    /// Show which shards of a cluster run are merged, done, running, incomplete or missing.
    Status(commands::slurm::StatusArgs),
    /// Run a spec as a Slurm array job plus a merge job (print the script, or --submit it).
    Slurm(commands::slurm::SlurmArgs),
    /// Render HTML pages (figures, tables, checks, provenance) for every stored spec.
    Report(commands::report::ReportArgs),
    /// Print the aggregated table of one store.
    Summary(commands::report::SummaryArgs),
    /// Run what is missing and evaluate every spec's claims; exit 1 when one fails.
    Check(commands::report::CheckArgs),
    /// Compare two result sets metric by metric: better, worse, unchanged or inconclusive.
    Compare(commands::compare::CompareArgs),
    /// Manage regression baselines.
    #[command(subcommand)]
    Baseline(commands::report::BaselineCommand),
    /// Principal angles (radians, ascending) between the column spans of two matrices.
    Angles(commands::angles::AnglesArgs),
    /// A Grassmann distance between the column spans of two matrices.
    Distance(commands::angles::DistanceArgs),
    /// Make (or check) the Python environments external methods declare, before any run.
    Env(commands::env::EnvArgs),
    /// Write the synthetic ShifCon model's hidden states as files the real-states loader reads.
    WriteStates(commands::states::WriteStatesArgs),
    /// Re-run a sample of a store's (or a bundle's) trials and compare them bit for bit.
    Verify(commands::verify::VerifyArgs),
    /// Pack a store with its spec, inputs, methods, page and RO-Crate metadata, for others to verify.
    Bundle(commands::bundle::BundleArgs),
}

/// Ctrl-C or SIGTERM during `run`/`check`: no new trial starts, external workers are killed (so
/// their trials end now), the built-in trials in flight get a few seconds to finish (one past
/// its deadline is abandoned at once: a thread cannot be killed), every finished trial is
/// stored, and subbench exits with 130. A second signal exits at once (finished trials are on
/// disk already; only unwritten ones are lost).
fn stop_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        let mut first = true;
        for signal in signals.forever() {
            if !first {
                eprintln!(
                    "quit: every trial that finished is on disk; run the same command again to resume"
                );
                std::process::exit(128 + signal);
            }
            first = false;
            harness::request_stop();
            external::kill_all_workers();
            eprintln!(
                "interrupted: no new trial starts; the trials in flight get {} s to finish (those past their deadline are abandoned now), then every finished trial is stored (again to quit at once)",
                harness::runner::STOP_GRACE.as_secs()
            );
        }
    });
}

/// Help and version as clap prints them; a bad flag or value as ONE line, exit code 2 (clap's
/// own rendering adds a usage block and a hint after a blank line).
fn command_line_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.to_string();
    let line: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let line = line.join(" ");
    let message = line.strip_prefix("error: ").unwrap_or(&line);
    ExitCode::from(exit_code::report(
        &user_error::UserError::new(message).into(),
    ))
}

fn main() -> ExitCode {
    subspace::reexec_with_better_blas_kernels();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return command_line_error(e),
    };
    subspace::force_single_threaded_blas();
    let registry = registry::registry();
    if matches!(cli.command, Command::Run(_) | Command::Check(_)) {
        stop_on_signals();
    }
    let outcome = match &cli.command {
        Command::Run(args) => commands::run::run(args, &registry).map(|all_ok| {
            if all_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        Command::Validate(args) => {
            commands::run::validate(args, &registry).map(|_| ExitCode::SUCCESS)
        }
        Command::List(args) => commands::run::list(args, &registry).map(|_| ExitCode::SUCCESS),
        Command::Merge(args) => commands::slurm::merge(args).map(|_| ExitCode::SUCCESS),
        Command::Status(args) if args.why => {
            commands::points::why(&args.dir, &registry).map(|_| ExitCode::SUCCESS)
        }
        Command::Status(args) => commands::slurm::status(args).map(|_| ExitCode::SUCCESS),
        Command::New(args) => commands::new::new(args, &registry).map(|_| ExitCode::SUCCESS),
        Command::Slurm(args) => commands::slurm::slurm(args, &registry).map(|_| ExitCode::SUCCESS),
        Command::Report(args) => {
            commands::report::report(args, &registry).map(|_| ExitCode::SUCCESS)
        }
        Command::Summary(args) => {
            commands::report::summary(args, &registry).map(|_| ExitCode::SUCCESS)
        }
        Command::Check(args) => commands::report::check(args, &registry).map(|ok| {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        Command::Compare(args) => commands::compare::compare(args, &registry).map(|ok| {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        Command::Baseline(command) => {
            commands::report::baseline(command, &registry).map(|_| ExitCode::SUCCESS)
        }
        Command::Angles(args) => commands::angles::angles(args).map(|_| ExitCode::SUCCESS),
        Command::Distance(args) => commands::angles::distance(args).map(|_| ExitCode::SUCCESS),
        Command::Env(args) => commands::env::env(args, &registry).map(|_| ExitCode::SUCCESS),
        Command::WriteStates(args) => commands::states::write(args).map(|_| ExitCode::SUCCESS),
        Command::Verify(args) => commands::verify::verify(args, &registry).map(|ok| {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        Command::Bundle(args) => {
            commands::bundle::bundle(args, &registry).map(|_| ExitCode::SUCCESS)
        }
    };
    match outcome {
        Ok(code) => code,
        Err(e) => ExitCode::from(exit_code::report(&e)),
    }
}
