//! How an error ends the command, decided in one place: its message as one line on stderr, and
//! its exit code — 2 for the user's mistakes (a bad spec, parameter, file, flag, or a store or
//! input that is missing or corrupt), 130 for an interrupt, 1 for everything else (a failed
//! write, a bug). Every subcommand returns its errors to here, whatever library they come from.

use std::error::Error;
use std::io::Write as _;

use harness::{HarnessError, SpecError};
use report::ReportError;

use crate::user_error::UserError;

/// The user's mistake.
pub const USER_MISTAKE: u8 = 2;
/// The machine's or a method's failure, or a bug.
pub const FAILURE: u8 = 1;
/// Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// The exit code of `error`: the first cause in its chain (outermost first) that says whose
/// fault it is decides; an error nobody classified (an I/O error with a context) is a failure.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    error.chain().find_map(code_of).unwrap_or(FAILURE)
}

fn code_of(cause: &(dyn Error + 'static)) -> Option<u8> {
    if cause.is::<UserError>() || cause.is::<SpecError>() {
        return Some(USER_MISTAKE);
    }
    if let Some(e) = cause.downcast_ref::<HarnessError>() {
        return Some(harness_code(e));
    }
    cause.downcast_ref::<ReportError>().map(|e| match e {
        // The stored data is missing or unreadable: a store to run first, a corrupt file.
        ReportError::Data(_) => USER_MISTAKE,
        ReportError::Write { .. } | ReportError::Template(_) => FAILURE,
        ReportError::Harness(e) => harness_code(e),
    })
}

fn harness_code(e: &HarnessError) -> u8 {
    match e {
        HarnessError::Interrupted { .. } => INTERRUPTED,
        e if e.is_user_error() => USER_MISTAKE,
        _ => FAILURE,
    }
}

/// The error as one line: its causes joined by `: `, each said once (a wrapper that displays its
/// source, as `#[error("{0}")]` and `#[error(transparent)]` do, would say it twice).
pub fn message(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Say `error` on stderr and return its exit code.
pub fn report(error: &anyhow::Error) -> u8 {
    eprintln!("error: {}", message(error));
    exit_code(error)
}

/// Say `error` and end the process now, with its exit code: for the one place that cannot
/// return (an interrupted run whose abandoned trials still hold their threads).
pub fn exit_now(error: anyhow::Error) -> ! {
    let _ = std::io::stdout().flush();
    std::process::exit(i32::from(report(&error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_error_has_one_exit_code_whatever_wraps_it() {
        let data = || ReportError::Data("results/x/trials.parquet: run the spec first".into());
        assert_eq!(exit_code(&data().into()), USER_MISTAKE);
        assert_eq!(
            exit_code(&anyhow::Error::from(data()).context("baseline save")),
            USER_MISTAKE
        );
        let spec = HarnessError::Spec(SpecError::new("s.yaml", "bad"));
        assert_eq!(exit_code(&ReportError::Harness(spec).into()), USER_MISTAKE);
        let store = HarnessError::Store {
            path: "results/x".into(),
            message: "disk full".into(),
        };
        assert_eq!(exit_code(&store.into()), FAILURE);
        let stopped = HarnessError::Interrupted {
            spec: "x".into(),
            kept: 3,
            abandoned: 1,
        };
        assert_eq!(exit_code(&stopped.into()), INTERRUPTED);
        assert_eq!(exit_code(&UserError::new("--jobs 0").into()), USER_MISTAKE);
        let write = ReportError::Write {
            path: "reports".into(),
            message: "read-only".into(),
        };
        assert_eq!(exit_code(&write.into()), FAILURE);
        assert_eq!(exit_code(&anyhow::anyhow!("io")), FAILURE);
    }

    #[test]
    fn a_wrapped_error_is_said_once() {
        let spec = HarnessError::Spec(SpecError::new("s.yaml", "bad"));
        assert_eq!(message(&spec.into()), "s.yaml: bad");
        let inner = HarnessError::Spec(SpecError::new("s.yaml", "bad"));
        let e = anyhow::Error::from(ReportError::Harness(inner)).context("reading the store");
        assert_eq!(message(&e), "reading the store: s.yaml: bad");
    }
}
