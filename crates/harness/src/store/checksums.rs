//! Checksums of a store's files: the blake3 of every file as it was written, recorded in a small
//! JSON file beside it (`checksums.json` for the main files, `<stem>.checksums.json` for each
//! part) and verified by every reader, so that bit rot, a truncated copy or an edit is one clear
//! error naming the file instead of silently different means.
//!
//! The main files are replaced by consolidation one rename at a time, so a kill between two
//! renames leaves some old and some new files: before replacing them, consolidation records both
//! versions of each (the old one, or "absent", and the new one) and, once every file is in place,
//! the new ones alone. Whatever a kill leaves on disk is therefore a version the checksums accept.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::HarnessError;

/// The checksums file's format version.
const FORMAT: u32 = 1;

/// File name (relative to the checksums file's folder) → the blake3 (hex) of each version of it
/// that may be on disk; `null` means the file may be absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Checksums {
    pub format: u32,
    pub blake3: BTreeMap<String, Vec<Option<String>>>,
}

/// What the checksums say about one file as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A version that was written.
    Intact,
    /// Not a version that was written (holds the hash found).
    Mismatch(String),
    /// Not there, while the checksums say it must be.
    Missing,
    /// The checksums do not mention it (a store written before checksums existed).
    Unlisted,
}

impl Checksums {
    pub fn new() -> Checksums {
        Checksums {
            format: FORMAT,
            blake3: BTreeMap::new(),
        }
    }

    /// The checksums at `path`; `None` when there is none. A file that does not parse is damaged.
    pub fn read(path: &Path) -> Result<Option<Checksums>, String> {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let sums: Checksums = serde_json::from_slice(&text)
            .map_err(|e| format!("not a checksums file of this version ({e})"))?;
        if sums.format != FORMAT {
            return Err(format!(
                "format {} is not {FORMAT}, the only one this subbench reads",
                sums.format
            ));
        }
        let valid = |h: &Option<String>| {
            h.as_ref()
                .is_none_or(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        if sums.blake3.values().flatten().any(|h| !valid(h)) {
            return Err("holds a malformed blake3 digest".into());
        }
        Ok(Some(sums))
    }

    pub fn write(&self, path: &Path) -> Result<(), HarnessError> {
        let value = serde_json::to_value(self).map_err(|e| HarnessError::store(path, e))?;
        super::files::write_json(path, &value)
    }

    /// Record `name` as having exactly the version `hash`.
    pub fn set(&mut self, name: &str, hash: String) {
        self.blake3.insert(name.to_string(), vec![Some(hash)]);
    }

    /// Record `name` as having any of `versions` (`None`: absent).
    pub fn allow(&mut self, name: &str, versions: Vec<Option<String>>) {
        let mut versions = versions;
        versions.dedup();
        self.blake3.insert(name.to_string(), versions);
    }

    pub fn forget(&mut self, name: &str) {
        self.blake3.remove(name);
    }

    /// The verdict on `name`, whose bytes hash to `found` (`None`: not on disk).
    pub fn verdict(&self, name: &str, found: Option<&str>) -> Verdict {
        let Some(versions) = self.blake3.get(name) else {
            return Verdict::Unlisted;
        };
        match found {
            None if versions.contains(&None) => Verdict::Intact,
            None => Verdict::Missing,
            Some(hash) if versions.iter().flatten().any(|v| v == hash) => Verdict::Intact,
            Some(hash) => Verdict::Mismatch(hash.to_string()),
        }
    }
}

/// The blake3 of `bytes`, in hex.
pub(crate) fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let mut sums = Checksums::new();
        sums.set("a", hash(b"a"));
        sums.allow("b", vec![None, Some(hash(b"b"))]);
        assert_eq!(sums.verdict("a", Some(&hash(b"a"))), Verdict::Intact);
        assert_eq!(
            sums.verdict("a", Some(&hash(b"A"))),
            Verdict::Mismatch(hash(b"A"))
        );
        assert_eq!(sums.verdict("a", None), Verdict::Missing);
        assert_eq!(sums.verdict("b", None), Verdict::Intact);
        assert_eq!(sums.verdict("b", Some(&hash(b"b"))), Verdict::Intact);
        assert_eq!(sums.verdict("c", None), Verdict::Unlisted);
    }

    #[test]
    fn a_damaged_checksums_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checksums.json");
        assert_eq!(Checksums::read(&path), Ok(None));
        let mut sums = Checksums::new();
        sums.set("trials.parquet", hash(b"x"));
        sums.write(&path).unwrap();
        assert_eq!(Checksums::read(&path), Ok(Some(sums)));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(Checksums::read(&path).is_err());
        std::fs::write(&path, "{\"format\": 1, \"blake3\": {\"t\": [\"00\"]}}").unwrap();
        assert!(Checksums::read(&path).unwrap_err().contains("malformed"));
    }
}
