//! Damage: what is wrong with a file of a store and the way out of it, as one error
//! ([`HarnessError::Damaged`]) naming the file. Readers diagnose with these; `repair` acts.

use std::path::Path;

use super::folder::Store;
use super::schema::DAMAGED_DIR;
use crate::error::{one_line, HarnessError};

/// What trials.csv can and cannot do for a damaged trials.parquet.
pub(crate) const CSV_CANNOT_RESTORE: &str = "trials.csv cannot restore it: it keeps the values but not the column types (an integer parameter and a text one such as `3` read back alike), so it cannot give back the file bit for bit";

/// What a lost checksums file is.
pub(crate) const LOST_CHECKSUMS: &str =
    "is missing, while provenance.json records that this store was written with checksums";

/// A file of a store, for the way out of its damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Trials,
    Csv,
    Curves,
    Checksums,
    Part,
}

impl Store {
    /// A file that cannot be parsed (a store written before checksums existed, or one whose
    /// checksums were written over a damaged file) is damaged too.
    pub(crate) fn unreadable(&self, path: &Path, e: HarnessError, role: Role) -> HarnessError {
        let why = match e {
            HarnessError::Store { message, .. } => message,
            other => other.to_string(),
        };
        self.damaged(
            path,
            &format!("damaged: it cannot be read ({})", one_line(&why)),
            role,
        )
    }

    /// The error for a damaged file: what is wrong, and the way out.
    pub(crate) fn damaged(&self, path: &Path, what: &str, role: Role) -> HarnessError {
        let again = self.again();
        let way_out = match role {
            Role::Trials => format!(
                "{CSV_CANNOT_RESTORE}; {again} with --force to recompute its trials (the damaged file is kept aside under {DAMAGED_DIR}/)"
            ),
            Role::Csv => {
                format!("{again}: the damaged file is set aside and written again from trials.parquet")
            }
            Role::Curves => format!(
                "{again}: the damaged file is set aside and the trials that record curves are recomputed"
            ),
            Role::Part => {
                format!("{again}: the damaged part is set aside under {DAMAGED_DIR}/ and its trials are recomputed")
            }
            Role::Checksums => format!(
                "nothing tells whether the files it vouches for are intact: {again} with --force to recompute every trial (the store's files are set aside under {DAMAGED_DIR}/), or delete it if you know them to be good"
            ),
        };
        HarnessError::Damaged {
            path: path.to_path_buf(),
            message: format!("{what}; {way_out}"),
        }
    }

    /// The error for a file the checksums record that is gone.
    pub(crate) fn missing(&self, path: &Path, role: Role, what: &str) -> HarnessError {
        let then = match role {
            Role::Curves => "the trials that record curves are recomputed",
            Role::Csv => "it is written again from trials.parquet",
            _ => "what it held is computed again",
        };
        HarnessError::Damaged {
            path: path.to_path_buf(),
            message: format!("{what}; {}: {then}", self.again()),
        }
    }

    /// The error for a checksums file (of the store or of a part) that is gone while the
    /// store's history says its files were written with checksums: nothing vouches for them any
    /// more, so it is damage, never a store from before checksums existed (a tampered value
    /// would otherwise be blessed by the next run).
    pub(crate) fn lost_checksums(&self, path: &Path, role: Role) -> HarnessError {
        let again = self.again();
        let way_out = match role {
            Role::Part => format!(
                "{again}: the part is set aside under {DAMAGED_DIR}/ and its trials are recomputed"
            ),
            _ => format!(
                "{again} with --force to recompute every trial (the store's files are set aside under {DAMAGED_DIR}/)"
            ),
        };
        HarnessError::Damaged {
            path: path.to_path_buf(),
            message: format!(
                "{LOST_CHECKSUMS}: nothing tells whether the files it vouched for are intact; {way_out}"
            ),
        }
    }

    /// How to run this store's spec again.
    pub(crate) fn again(&self) -> String {
        match self.shard() {
            Some((index, count)) => {
                format!("run this shard again (`subbench run SPEC --shard {index}/{count}`)")
            }
            None => "run the spec again (`subbench run SPEC`)".to_string(),
        }
    }
}
