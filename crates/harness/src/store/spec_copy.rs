//! The spec that travels with its results: `spec.yaml` (the text that ran), `spec.workdir` (the
//! folder its file parameters are relative to) and `spec.origin` (the folder its `external:`
//! manifests are relative to). One writer, [`record_spec`], used by `run` and by `merge`.

use std::fs;
use std::path::Path;

use super::files::write_text;
use super::schema::{ORIGIN_FILE, SPEC_FILE, WORKDIR_FILE};
use crate::error::HarnessError;

/// A spec copy, as a store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecCopy {
    /// The spec's text, as loaded and hashed.
    pub text: String,
    /// The folder the run ran in, when known (kept as it is when `None`).
    pub workdir: Option<String>,
    /// The spec file's folder, when the spec has `external:` manifests (removed when `None`: a
    /// spec that dropped its `external:` list leaves no stale origin behind).
    pub origin: Option<String>,
}

impl SpecCopy {
    /// The copy held by store `dir`; `None` when it holds no `spec.yaml`.
    pub fn read(dir: &Path) -> Result<Option<SpecCopy>, HarnessError> {
        let read = |name: &str| -> Result<Option<String>, HarnessError> {
            let path = dir.join(name);
            match fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(HarnessError::store(&path, e)),
            }
        };
        let Some(text) = read(SPEC_FILE)? else {
            return Ok(None);
        };
        let line = |t: String| t.strip_suffix('\n').map(str::to_string).unwrap_or(t);
        Ok(Some(SpecCopy {
            text,
            workdir: read(WORKDIR_FILE)?.map(line),
            origin: read(ORIGIN_FILE)?.map(line),
        }))
    }
}

/// Store `copy` in store `dir`, each file atomically.
pub fn record_spec(dir: &Path, copy: &SpecCopy) -> Result<(), HarnessError> {
    write_text(&dir.join(SPEC_FILE), &copy.text)?;
    if let Some(workdir) = &copy.workdir {
        write_text(&dir.join(WORKDIR_FILE), &format!("{workdir}\n"))?;
    }
    let origin = dir.join(ORIGIN_FILE);
    match &copy.origin {
        Some(folder) => write_text(&origin, &format!("{folder}\n"))?,
        None => {
            let _ = fs::remove_file(&origin);
        }
    }
    Ok(())
}
