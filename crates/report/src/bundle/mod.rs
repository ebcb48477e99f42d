//! `subbench bundle`: what a stranger needs to check a result, in one folder or one `.tar.gz`:
//! the spec as run, the store (trials, curves, checksums), the provenance history, the page
//! with its figures and tables, every input file and external method file the trials depended
//! on, and an RO-Crate (`ro-crate-metadata.json`) listing each with its SHA-256.
//!
//! A bundle made twice from the same store is byte-identical (entries sorted, fixed times,
//! owners and modes), so it can itself be checksummed and cited. [`open`] is the other end: it
//! copies or unpacks a bundle into a temporary folder, checks every checksum, and hands back the
//! store for `verify` to re-run.

mod archive;
pub mod contents;
pub mod rocrate;

use std::path::{Path, PathBuf};

use harness::provenance::run_entries;
use harness::spec::{load_spec, LoadOptions, Spec};
use harness::Registry;
use serde_json::Value as Json;

use crate::pipeline::{evaluate_spec, render_spec};
use crate::ReportError;
use contents::{Entries, Role, REPORTS, RESULTS};
use rocrate::{sha256, RunFacts, METADATA};

fn data(message: String) -> ReportError {
    ReportError::Data(message)
}

/// Whether `path` names a bundle (a `.tar.gz` file, or a folder with an RO-Crate) rather than a
/// store.
pub fn is_bundle(path: &Path) -> bool {
    if path.is_dir() {
        return path.join(METADATA).is_file();
    }
    is_archive_name(path)
}

/// Whether `path` is named as an archive (`.tar.gz`, `.tgz`); anything else is a folder.
pub fn is_archive_name(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// The page of the store, rendered into a temporary folder: every file under `reports/`.
fn page(spec: &Spec, results: &Path, baselines: &Path) -> Result<Entries, ReportError> {
    let folder =
        tempfile::tempdir().map_err(|e| data(format!("cannot make a temporary folder: {e}")))?;
    let evaluated = evaluate_spec(spec, results, baselines, spec.quick)?;
    render_spec(spec, &evaluated, results, folder.path())?;
    let mut entries = Entries::new();
    let mut pending = vec![folder.path().to_path_buf()];
    while let Some(dir) = pending.pop() {
        let listing =
            std::fs::read_dir(&dir).map_err(|e| data(format!("{}: {e}", dir.display())))?;
        for entry in listing.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let inside = path.strip_prefix(folder.path()).unwrap_or(&path);
            let key = format!("{REPORTS}/{}", inside.to_string_lossy().replace('\\', "/"));
            let bytes =
                std::fs::read(&path).map_err(|e| data(format!("{}: {e}", path.display())))?;
            entries.insert(key, bytes);
        }
    }
    Ok(entries)
}

/// What [`make`] wrote.
#[derive(Debug)]
pub struct Made {
    pub path: PathBuf,
    pub files: usize,
    /// SHA-256 of the archive, when one was written.
    pub sha256: Option<String>,
}

/// Bundle the store `dir` (a spec's folder under a results folder) into `out`: a `.tar.gz`
/// file, or a folder (created; it must not hold anything yet).
pub fn make(
    dir: &Path,
    out: &Path,
    baselines: &Path,
    registry: &Registry,
) -> Result<Made, ReportError> {
    let spec_file = dir.join(harness::store::schema::SPEC_FILE);
    if !spec_file.is_file() {
        return Err(data(format!(
            "{} is not a store (it has no spec.yaml); give a spec's results folder such as results/NAME",
            dir.display()
        )));
    }
    let spec_error = |e| ReportError::Harness(harness::HarnessError::Spec(e));
    let full = load_spec(&spec_file, registry, LoadOptions::default()).map_err(spec_error)?;
    let quick = LoadOptions {
        quick: true,
        ..LoadOptions::default()
    };
    let quick = load_spec(&spec_file, registry, quick).map_err(spec_error)?;
    let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if folder != full.name {
        return Err(data(format!(
            "{} holds spec `{}`; a store's folder is named after its spec (move it back)",
            dir.display(),
            full.name
        )));
    }
    let results = dir.parent().unwrap_or(Path::new("."));
    let (mut entries, mut roles) = contents::collect(dir, &[&full, &quick])?;
    // The page of the sweep the store holds: the full one, else the quick one.
    let shown = if crate::pipeline::trial_ids(&full, dir).map_or(true, |ids| ids.is_empty()) {
        &quick
    } else {
        &full
    };
    for (key, bytes) in page(shown, results, baselines)? {
        roles.insert(key.clone(), Role::Page);
        entries.insert(key, bytes);
    }
    let facts = RunFacts::from_provenance(&run_entries(dir));
    let metadata = rocrate::metadata(&full, &entries, &roles, &facts);
    let text = serde_json::to_string_pretty(&metadata).expect("JSON values serialize");
    entries.insert(METADATA.to_string(), format!("{text}\n").into_bytes());
    let files = entries.len();
    if is_archive_name(out) {
        let bytes = archive::pack(&entries)?;
        std::fs::write(out, &bytes).map_err(|e| write_error(out, e))?;
        return Ok(Made {
            path: out.to_path_buf(),
            files,
            sha256: Some(sha256(&bytes)),
        });
    }
    if out.exists() && std::fs::read_dir(out).map_or(true, |mut d| d.next().is_some()) {
        return Err(data(format!(
            "{} exists and is not an empty folder; choose a new folder, or a name ending in .tar.gz",
            out.display()
        )));
    }
    archive::write_tree(out, &entries)?;
    Ok(Made {
        path: out.to_path_buf(),
        files,
        sha256: None,
    })
}

fn write_error(path: &Path, e: impl std::fmt::Display) -> ReportError {
    ReportError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// A bundle unpacked into a temporary folder (removed when this is dropped), its checksums
/// checked.
pub struct Unpacked {
    folder: tempfile::TempDir,
    store: PathBuf,
    pub checked: usize,
}

impl Unpacked {
    /// The bundled store, ready for `verify`.
    pub fn store_dir(&self) -> PathBuf {
        self.folder.path().join(&self.store)
    }

    pub fn checksums_line(&self) -> String {
        format!(
            "bundle: {} files match the SHA-256 of the RO-Crate",
            self.checked
        )
    }
}

/// Copy or unpack the bundle at `path` into a temporary folder and check it: every file the
/// RO-Crate lists is there with its SHA-256, and nothing else is.
pub fn open(path: &Path) -> Result<Unpacked, ReportError> {
    let folder =
        tempfile::tempdir().map_err(|e| data(format!("cannot make a temporary folder: {e}")))?;
    let entries = if path.is_dir() {
        archive::read_tree(path)?
    } else {
        let bytes = std::fs::read(path)
            .map_err(|e| data(format!("{}: cannot read the bundle: {e}", path.display())))?;
        archive::unpack(&bytes, path)?
    };
    let metadata = entries
        .get(METADATA)
        .ok_or_else(|| data(format!("{}: not a bundle (no {METADATA})", path.display())))?;
    let metadata: Json = serde_json::from_slice(metadata)
        .map_err(|e| data(format!("{}: {METADATA} is not JSON: {e}", path.display())))?;
    let checked = check(path, &entries, &metadata)?;
    archive::write_tree(folder.path(), &entries)?;
    let store = metadata["@graph"]
        .as_array()
        .and_then(|g| g.iter().find(|e| e["@id"] == "./"))
        .and_then(|root| root["mainEntity"]["@id"].as_str())
        .and_then(|spec| Path::new(spec).parent().map(Path::to_path_buf))
        .filter(|s| s.starts_with(RESULTS))
        .ok_or_else(|| {
            data(format!(
                "{}: {METADATA} names no spec (mainEntity) under {RESULTS}/",
                path.display()
            ))
        })?;
    contents::anchor(folder.path(), &folder.path().join(&store))?;
    Ok(Unpacked {
        folder,
        store,
        checked,
    })
}

/// Every file listed with its checksum is present and matches; every file present is listed.
fn check(path: &Path, entries: &Entries, metadata: &Json) -> Result<usize, ReportError> {
    let listed: std::collections::BTreeMap<&str, &str> = metadata["@graph"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["@type"] == "File"
                || e["@type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&Json::from("File")))
        })
        .filter_map(|e| Some((e["@id"].as_str()?, e["sha256"].as_str()?)))
        .collect();
    for (file, want) in &listed {
        let bytes = entries.get(*file).ok_or_else(|| {
            data(format!(
                "{}: {file} is listed in {METADATA} but missing from the bundle",
                path.display()
            ))
        })?;
        let found = sha256(bytes);
        if found != *want {
            return Err(data(format!(
                "{}: {file} does not match its SHA-256 in {METADATA} (found {found}, listed {want}): the bundle was altered or damaged",
                path.display()
            )));
        }
    }
    if let Some(extra) = entries
        .keys()
        .find(|k| *k != METADATA && !listed.contains_key(k.as_str()))
    {
        return Err(data(format!(
            "{}: {extra} is in the bundle but not listed in {METADATA}",
            path.display()
        )));
    }
    Ok(listed.len())
}
