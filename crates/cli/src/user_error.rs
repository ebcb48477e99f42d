//! The user's mistakes (a bad file, a bad spec, a bad argument): printed as one line, exit code 2.

use std::fmt;

/// An error caused by the user's input rather than by subbench or a method. Its message names the
/// file, the place and what would be accepted.
#[derive(Debug)]
pub struct UserError(String);

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        UserError(message.into())
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}
