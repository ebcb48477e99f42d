//! A spec's `external:` list: manifest files (paths relative to the spec file) whose methods the
//! spec may name beside the built-in ones. How a manifest becomes a method is the binary's
//! business ([`Registry::set_external_loader`]); this module resolves the paths, loads them
//! through the registry and gives the spec loader one view of built-in and external methods.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{did_you_mean, SpecError};
use crate::locate::locate;
use crate::method::{Method, Registry};
use crate::store::TrialRecord;

/// Written beside the copy of a spec in its store (`results/<name>/spec.origin`): the folder of
/// the original spec file, against which the copy's `external:` paths resolve (the copy is read
/// again by `subbench report`, from another folder).
pub use crate::store::schema::ORIGIN_FILE;

/// The external methods of one spec, in the order of its `external:` list.
#[derive(Clone, Default)]
pub struct ExternalMethods(pub Vec<Arc<dyn Method>>);

impl fmt::Debug for ExternalMethods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|m| m.id()))
            .finish()
    }
}

impl ExternalMethods {
    pub fn find(&self, id: &str) -> Option<&dyn Method> {
        self.0.iter().find(|m| m.id() == id).map(|m| m.as_ref())
    }
}

/// The methods a spec can name: the registry's built-ins and the spec's external ones.
pub(crate) struct SpecMethods<'a> {
    pub registry: &'a Registry,
    pub external: &'a ExternalMethods,
}

impl SpecMethods<'_> {
    pub fn get(&self, id: &str) -> Result<&dyn Method, String> {
        if let Some(m) = self.external.find(id) {
            return Ok(m);
        }
        if let Some(m) = self.registry.find(id) {
            return Ok(m);
        }
        let mut ids: Vec<&str> = self.registry.iter().map(|m| m.id()).collect();
        ids.extend(self.external.0.iter().map(|m| m.id()));
        let known = if ids.is_empty() {
            "no methods are registered in this build".to_string()
        } else {
            format!("known methods: {}", ids.join(", "))
        };
        let suggestion = did_you_mean(id, ids.iter().copied());
        let hint = if suggestion.is_empty() && self.external.0.is_empty() {
            "; an external method needs its manifest in the spec's `external:` list"
        } else {
            ""
        };
        Err(format!("unknown method `{id}`{suggestion}; {known}{hint}"))
    }

    /// The code identity of a method the spec names (validated before).
    pub fn code(&self, id: &str) -> String {
        match self.external.find(id) {
            Some(m) => m.code().unwrap_or_default(),
            None => self.registry.code(id).unwrap_or_default().to_string(),
        }
    }
}

/// The folder a spec's `external:` paths are relative to.
fn base_folder(spec_file: &Path) -> PathBuf {
    let folder = spec_file.parent().unwrap_or(Path::new("")).to_path_buf();
    match std::fs::read_to_string(folder.join(ORIGIN_FILE)) {
        Ok(origin) if spec_file.file_name() == Some(crate::store::schema::SPEC_FILE.as_ref()) => {
            PathBuf::from(origin.trim_end_matches('\n'))
        }
        _ => folder,
    }
}

/// The first line (and column) where `needle` is written, 1-based.
fn line_of(text: &str, needle: &str) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .find_map(|(i, line)| line.find(needle).map(|c| (i + 1, c + 1)))
}

/// Load the manifests a spec lists. A manifest that cannot be read is an error on the spec's
/// line; a mistake inside a manifest is reported at the manifest's own line.
pub(crate) fn load_externals(
    spec_file: &Path,
    text: &str,
    entries: &[String],
    registry: &Registry,
) -> Result<ExternalMethods, SpecError> {
    let base = base_folder(spec_file);
    let mut methods: Vec<Arc<dyn Method>> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for entry in entries {
        let place = line_of(text, entry).or(locate(text, &["external"]));
        let path = base.join(entry);
        if !path.is_file() {
            return Err(SpecError::new(
                spec_file,
                format!(
                    "external: no manifest file `{}` (paths are relative to the spec's folder, {})",
                    entry,
                    base.display()
                ),
            )
            .at(place));
        }
        let method = registry.load_external(&path)?;
        if !seen.insert(method.id().to_string()) {
            return Err(SpecError::new(
                spec_file,
                format!(
                    "external: two manifests declare method `{}`; ids must be unique",
                    method.id()
                ),
            )
            .at(place));
        }
        methods.push(method);
    }
    Ok(ExternalMethods(methods))
}

/// The ids of `records` that are current: of a trial in `ids` and computed by the code
/// identity `codes` gives for its method. Reports aggregate only these, so that no table or
/// figure mixes code versions.
pub fn current_ids(
    ids: &HashSet<String>,
    codes: &BTreeMap<String, String>,
    records: &[TrialRecord],
) -> HashSet<String> {
    records
        .iter()
        .filter(|r| ids.contains(&r.trial_id) && is_current(r, codes))
        .map(|r| r.trial_id.clone())
        .collect()
}

/// Whether a stored trial was computed by the method's current code.
pub fn is_current(record: &TrialRecord, codes: &BTreeMap<String, String>) -> bool {
    codes
        .get(&record.method)
        .is_some_and(|code| *code == record.method_code)
}
