//! Finding spec files: the files and folders named on the command line, searched recursively.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::HarnessError;

/// The spec files under `path` (a file, or a folder searched recursively). A folder given that
/// holds none is an error, whatever else it holds.
pub(crate) fn collect_spec_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), HarnessError> {
    let before = out.len();
    collect_under(path, out, &mut HashSet::new())?;
    if out.len() == before {
        return Err(HarnessError::Usage(format!(
            "{}: no spec files (.yaml or .yml) in this folder or below",
            path.display()
        )));
    }
    Ok(())
}

fn collect_under(
    path: &Path,
    out: &mut Vec<PathBuf>,
    seen: &mut HashSet<PathBuf>,
) -> Result<(), HarnessError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| HarnessError::Usage(format!("{}: cannot read: {e}", path.display())))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    if !meta.is_dir() {
        return Err(HarnessError::Usage(format!(
            "{}: not a regular file (a device, FIFO or socket); give a spec file or a folder of them",
            path.display()
        )));
    }
    // A folder reached twice (a symbolic link back up the tree) is searched once: a link loop
    // ends here instead of 40 levels down in an error per level.
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if !seen.insert(canonical) {
        return Ok(());
    }
    // A result store (an `--out` folder inside the specs folder) holds a copy of its spec, which
    // is not a spec of its own.
    use crate::store::schema::{PARTS_DIR, PROVENANCE_FILE, TRIALS_FILE};
    if [PROVENANCE_FILE, TRIALS_FILE, PARTS_DIR]
        .iter()
        .any(|f| path.join(f).exists())
    {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| HarnessError::Usage(format!("{}: cannot list: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_under(&entry, out, seen)?;
        } else if matches!(
            entry.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(entry);
        }
    }
    Ok(())
}
