//! Errors of the harness. A [`SpecError`] is the user's mistake and carries the place in the
//! file; a [`HarnessError`] wraps it together with the failures of the store.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// A mistake in a spec file: where it is and what would be accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub file: PathBuf,
    /// 1-based line and column when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// Not the user's mistake but a bug of a method met while validating (its check panicked):
    /// exit code 1, not 2.
    pub bug: bool,
}

impl SpecError {
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        SpecError {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
            bug: false,
        }
    }

    /// A bug of a method met while validating `file` (see [`SpecError::bug`]).
    pub fn bug(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        SpecError {
            bug: true,
            ..SpecError::new(file, message)
        }
    }

    pub fn at(mut self, place: Option<(usize, usize)>) -> Self {
        if let Some((line, column)) = place {
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        // One line whatever the spec holds: a value quoted in the message (a name with a
        // newline in it, found by the fuzzer) must not break it into two.
        write!(f, ": {}", one_line(&self.message))
    }
}

/// `text` with line breaks and other control characters written as escapes (`\n`, `\u{1b}`).
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl std::error::Error for SpecError {}

/// Everything the harness can fail with.
#[derive(Debug, Error)]
pub enum HarnessError {
    /// The user's spec (or command-line override) is invalid: exit code 2.
    #[error("{0}")]
    Spec(#[from] SpecError),
    /// Several specs were invalid; each is reported.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Specs(Vec<SpecError>),
    /// A usage mistake that is not inside a spec file (a bad `--shard`, a missing results folder).
    #[error("{0}")]
    Usage(String),
    /// The user stopped the run (Ctrl-C, SIGTERM); every finished trial is stored; `abandoned`
    /// trials were still running (past their deadline, or after the grace time) and are not.
    #[error("{spec}: interrupted; the {kept} trials that finished are stored{}; run the same command again to resume (nothing finished is recomputed)", abandoned_text(*.abandoned))]
    Interrupted {
        spec: String,
        kept: usize,
        abandoned: usize,
    },
    /// The result store could not be read or written.
    #[error("result store {path}: {message}")]
    Store { path: PathBuf, message: String },
    /// A file of the result store is not the file that was written (bit rot, a truncated or
    /// edited copy), or is missing while the store says it is there: the message names the file
    /// and the way out. The user's to act on (exit code 2).
    #[error("{}: {message}", path.display())]
    Damaged { path: PathBuf, message: String },
}

fn abandoned_text(abandoned: usize) -> String {
    match abandoned {
        0 => String::new(),
        1 => ", 1 trial still running was abandoned".to_string(),
        n => format!(", {n} trials still running were abandoned"),
    }
}

impl HarnessError {
    /// Whether the user, not the machine or a method, is at fault (exit code 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            HarnessError::Spec(e) => !e.bug,
            HarnessError::Specs(errors) => errors.iter().all(|e| !e.bug),
            HarnessError::Usage(_) | HarnessError::Damaged { .. } => true,
            HarnessError::Interrupted { .. } | HarnessError::Store { .. } => false,
        }
    }

    pub(crate) fn store(path: impl Into<PathBuf>, message: impl fmt::Display) -> Self {
        HarnessError::Store {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// Levenshtein distance, for did-you-mean suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// " (did you mean `x`?)" when one candidate is close enough, else "".
pub(crate) fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    candidates
        .into_iter()
        .map(|c| (edit_distance(wrong, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_closest_name() {
        assert_eq!(edit_distance("sweep", "sweeep"), 1);
        assert_eq!(
            did_you_mean("sweeep", ["seeds", "sweep", "seed"]),
            " (did you mean `sweep`?)"
        );
        assert_eq!(did_you_mean("zzzzzz", ["seeds", "sweep"]), "");
    }

    /// Found by the spec fuzzer: a name with a newline in it made the error two lines.
    #[test]
    fn a_quoted_value_with_a_newline_keeps_the_error_on_one_line() {
        let e = SpecError::new("s.yaml", "name `a\nb\u{1b}` is not allowed");
        assert_eq!(e.to_string(), "s.yaml: name `a\\nb\\u{1b}` is not allowed");
    }

    #[test]
    fn spec_errors_read_file_line_column() {
        let e = SpecError::new("specs/a.yaml", "bad").at(Some((3, 5)));
        assert_eq!(e.to_string(), "specs/a.yaml:3:5: bad");
        assert_eq!(SpecError::new("a.yaml", "bad").to_string(), "a.yaml: bad");
    }
}
