//! File primitives shared by every writer of a store (the data files, the spec copy, shard
//! info, provenance): a file is written to a temporary name, synced and renamed into place, so
//! that a reader sees the old file or the new one, never half of one.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::HarnessError;

type Result<T> = std::result::Result<T, HarnessError>;

/// Write `path` through `write`, atomically (temporary name, sync, then rename).
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> Result<()>,
) -> Result<()> {
    let tmp = PathBuf::from(format!("{}.tmp-{}", path.display(), std::process::id()));
    let mut file = File::create(&tmp).map_err(|e| HarnessError::store(&tmp, e))?;
    let written =
        write(&mut file).and_then(|()| file.sync_all().map_err(|e| HarnessError::store(&tmp, e)));
    drop(file);
    if let Err(e) = written {
        // A full disk, say: leave no partial file behind (the destination was never touched).
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(|e| HarnessError::store(path, e))
}

/// Write `bytes` to `path` atomically.
pub(crate) fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |file| {
        file.write_all(bytes)
            .map_err(|e| HarnessError::store(path, e))
    })
}

/// Write `text` to `path` atomically (temporary name, then rename).
pub(crate) fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomically(path, |file| {
        file.write_all(text.as_bytes())
            .map_err(|e| HarnessError::store(path, e))
    })
}

/// Write a JSON document atomically (provenance).
pub(crate) fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    write_atomically(path, |file| {
        serde_json::to_writer_pretty(&mut *file, value)
            .map_err(|e| HarnessError::store(path, e))?;
        file.write_all(b"\n")
            .map_err(|e| HarnessError::store(path, e))
    })
}
