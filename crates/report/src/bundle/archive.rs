//! A bundle's bytes: a gzipped tar written so that the same entries give the same bytes
//! (sorted paths, regular files only, mode 0644, owner 0:0, no owner names, mtime 0, gzip
//! header without time or name), and read back with every path checked to stay inside.

use std::io::{Read, Write};
use std::path::{Component, Path};

use flate2::read::GzDecoder;
use flate2::{Compression, GzBuilder};

use super::contents::Entries;
use crate::ReportError;

/// Archives bigger than this are refused on reading (a bundle holds a store, not a data lake).
const MAX_UNPACKED_BYTES: u64 = 16 << 30;

fn data(message: String) -> ReportError {
    ReportError::Data(message)
}

pub fn pack(entries: &Entries) -> Result<Vec<u8>, ReportError> {
    let gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, path, bytes.as_slice())
            .map_err(|e| data(format!("{path}: cannot add it to the bundle: {e}")))?;
    }
    let gz = tar
        .into_inner()
        .map_err(|e| data(format!("cannot finish the bundle: {e}")))?;
    gz.finish()
        .map_err(|e| data(format!("cannot finish the bundle: {e}")))
}

/// Whether `path` is a plain relative path (no `..`, no root, no drive).
fn safe(path: &Path) -> bool {
    path.components().all(|c| matches!(c, Component::Normal(_)))
}

pub fn unpack(bytes: &[u8], from: &Path) -> Result<Entries, ReportError> {
    let bad = |e: std::io::Error| {
        data(format!(
            "{}: not a readable .tar.gz bundle: {e}",
            from.display()
        ))
    };
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let mut entries = Entries::new();
    let mut total = 0u64;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if entry.header().entry_type().is_dir() {
            continue;
        }
        let path = entry.path().map_err(bad)?.into_owned();
        if !entry.header().entry_type().is_file() || !safe(&path) {
            return Err(data(format!(
                "{}: entry {} is not a plain file inside the bundle; a bundle holds only relative regular files",
                from.display(),
                path.display()
            )));
        }
        total += entry.size();
        if total > MAX_UNPACKED_BYTES {
            return Err(data(format!(
                "{}: unpacks to more than {MAX_UNPACKED_BYTES} bytes",
                from.display()
            )));
        }
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(bad)?;
        entries.insert(path.to_string_lossy().into_owned(), content);
    }
    Ok(entries)
}

/// Every regular file under `root`, by path relative to it.
pub fn read_tree(root: &Path) -> Result<Entries, ReportError> {
    let mut entries = Entries::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let listing =
            std::fs::read_dir(&dir).map_err(|e| data(format!("{}: {e}", dir.display())))?;
        for entry in listing.filter_map(Result::ok) {
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| data(format!("{}: {e}", path.display())))?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let inside = path.strip_prefix(root).unwrap_or(&path);
                let key = inside
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let bytes =
                    std::fs::read(&path).map_err(|e| data(format!("{}: {e}", path.display())))?;
                entries.insert(key, bytes);
            }
        }
    }
    Ok(entries)
}

pub fn write_tree(root: &Path, entries: &Entries) -> Result<(), ReportError> {
    let failed = |p: &Path, e: std::io::Error| ReportError::Write {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    for (key, bytes) in entries {
        let path = root.join(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| failed(parent, e))?;
        }
        let mut file = std::fs::File::create(&path).map_err(|e| failed(&path, e))?;
        file.write_all(bytes).map_err(|e| failed(&path, e))?;
    }
    Ok(())
}
