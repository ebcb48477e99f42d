//! What goes into a bundle: the store's files, the spec's input files and external methods'
//! files, under paths that keep their relative layout, and the store's pointers to them
//! (`spec.workdir`, `spec.origin`) made relative to the bundle, so that it verifies anywhere.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use harness::spec::Spec;
use harness::spec_external::ORIGIN_FILE;
use harness::store::schema::{PARTS_DIR, SPEC_FILE, WORKDIR_FILE};
use serde::Deserialize;

use crate::ReportError;

/// Where the store goes inside a bundle (`results/NAME/`, as `subbench report` expects it).
pub const RESULTS: &str = "results";
/// Where input and method files go, below their common folder.
pub const FILES: &str = "files";
/// Where the page goes.
pub const REPORTS: &str = "reports";

/// The bundle's files: path inside the bundle → bytes, sorted by path.
pub type Entries = BTreeMap<String, Vec<u8>>;

/// The role a bundled file plays, for the RO-Crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Store,
    Input,
    Method,
    Page,
}

fn data(path: &Path, e: impl std::fmt::Display) -> ReportError {
    ReportError::Data(format!("{}: {e}", path.display()))
}

fn read(path: &Path) -> Result<Vec<u8>, ReportError> {
    std::fs::read(path).map_err(|e| data(path, format!("cannot read it for the bundle: {e}")))
}

/// `path` with `.` and `..` resolved lexically (the store records folders, not links).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The folder in a store's pointer file (`spec.workdir`, `spec.origin`), if there is one.
fn pointer(dir: &Path, file: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    Some(PathBuf::from(text.trim_end_matches('\n')))
}

/// The spec's `external:` entries and a manifest's `files:` (the external crate validates
/// both when the spec loads; only the lists are needed here).
#[derive(Deserialize)]
struct Lists {
    #[serde(default)]
    external: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
}

fn lists(path: &Path) -> Result<Lists, ReportError> {
    let text = String::from_utf8(read(path)?).map_err(|e| data(path, e))?;
    serde_norway::from_str(&text).map_err(|e| data(path, e))
}

/// The absolute files the spec's trials depend on, and the folders its paths are relative to.
struct Dependencies {
    files: Vec<(PathBuf, Role)>,
    /// Where input paths are relative to (`spec.workdir`).
    workdir: PathBuf,
    /// Where `external:` paths are relative to (`spec.origin`), when the spec has any.
    origin: Option<PathBuf>,
}

/// The absolute files the spec's trials depend on: input files and external methods' files.
fn dependencies(dir: &Path, specs: &[&Spec]) -> Result<Dependencies, ReportError> {
    let workdir = pointer(dir, WORKDIR_FILE)
        .map(|w| normalize(&w))
        .unwrap_or_else(|| normalize(&std::env::current_dir().unwrap_or_default()));
    let mut files = Vec::new();
    for spec in specs {
        for point in &spec.points {
            let recorded = point.params.recorded();
            for name in recorded.keys() {
                let Some(param) = name.strip_suffix("_blake3") else {
                    continue;
                };
                if let Some(harness::Value::Str(path)) = recorded.get(param) {
                    files.push((normalize(&workdir.join(path)), Role::Input));
                }
            }
        }
    }
    let origin = pointer(dir, ORIGIN_FILE).map(|o| normalize(&o));
    if let Some(origin) = &origin {
        for entry in lists(&dir.join(SPEC_FILE))?.external {
            let manifest = normalize(&origin.join(entry));
            let folder = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
            for file in lists(&manifest)?.files {
                files.push((normalize(&folder.join(file)), Role::Method));
            }
            files.push((manifest, Role::Method));
        }
    }
    files.sort();
    files.dedup();
    Ok(Dependencies {
        files,
        workdir,
        origin,
    })
}

/// The deepest folder holding every path of `paths`.
fn common_folder<'a>(paths: impl Iterator<Item = &'a Path>) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for path in paths {
        common = Some(match common {
            None => path.to_path_buf(),
            Some(c) => c
                .components()
                .zip(path.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    common.unwrap_or_default()
}

fn inside(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every file of the bundle but the page and the RO-Crate metadata, with its role.
pub fn collect(
    dir: &Path,
    specs: &[&Spec],
) -> Result<(Entries, BTreeMap<String, Role>), ReportError> {
    let name = &specs[0].name;
    if dir.join(PARTS_DIR).is_dir()
        && std::fs::read_dir(dir.join(PARTS_DIR)).is_ok_and(|mut d| d.next().is_some())
    {
        return Err(data(dir, "holds trials not yet consolidated (parts/); run the spec again to finish it, then bundle"));
    }
    let mut entries = Entries::new();
    let mut roles = BTreeMap::new();
    let listing = std::fs::read_dir(dir).map_err(|e| data(dir, e))?;
    let mut names: Vec<String> = listing
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        // Locks and the pointers (rewritten below) stay behind.
        .filter(|n| !n.starts_with('.') && n != WORKDIR_FILE && n != ORIGIN_FILE)
        .collect();
    names.sort();
    for file in names {
        let key = format!("{RESULTS}/{name}/{file}");
        entries.insert(key.clone(), read(&dir.join(&file))?);
        roles.insert(key, Role::Store);
    }
    let Dependencies {
        files,
        workdir,
        origin,
    } = dependencies(dir, specs)?;
    let anchors = [Some(&workdir), origin.as_ref()];
    let root = common_folder(
        files
            .iter()
            .map(|(p, _)| p.as_path())
            .chain(anchors.iter().flatten().map(|p| p.as_path())),
    );
    let relative = |p: &Path| {
        let rest = inside(p.strip_prefix(&root).unwrap_or(p));
        if rest.is_empty() {
            FILES.to_string()
        } else {
            format!("{FILES}/{rest}")
        }
    };
    for (path, role) in &files {
        let key = relative(path);
        entries.insert(key.clone(), read(path)?);
        roles.insert(key, *role);
    }
    let mut pointer_file = |file: &str, folder: &Path| {
        let key = format!("{RESULTS}/{name}/{file}");
        entries.insert(key.clone(), format!("{}\n", relative(folder)).into_bytes());
        roles.insert(key, Role::Store);
    };
    pointer_file(WORKDIR_FILE, &workdir);
    if let Some(origin) = &origin {
        pointer_file(ORIGIN_FILE, origin);
    }
    Ok((entries, roles))
}

/// Make a bundle's pointer files absolute again, once it is unpacked at `root`.
pub fn anchor(root: &Path, store: &Path) -> Result<(), ReportError> {
    for file in [WORKDIR_FILE, ORIGIN_FILE] {
        let path = store.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let folder = root.join(text.trim_end_matches('\n'));
        // It may hold no bundled file (`external: [../methods/m.yaml]`), but a path through it
        // resolves only if it exists.
        std::fs::create_dir_all(&folder).map_err(|e| data(&folder, e))?;
        std::fs::write(&path, format!("{}\n", folder.display())).map_err(|e| data(&path, e))?;
    }
    Ok(())
}
