//! Record the compiler and target in the binary, for provenance.json, and the code identity of
//! every crate that contributes methods.
//!
//! Code identity of a built-in method: the blake3 of the sources of the crate that registers it
//! (`src/**` and `Cargo.toml`) and of the path crates its results depend on (`crates/subspace`,
//! `crates/datasets` and the data compiled into it). The harness is left out on purpose: what it
//! decides about a trial (parameters, seed) is already in the trial's id, and hashing it would
//! make every harness change recompute every result. Any edit to a method crate, even a
//! comment, makes its stored trials stale; that errs on the side of never serving old numbers.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crates that register methods: (env suffix, folder, what else their results depend on).
const METHOD_CRATES: &[(&str, &str)] = &[
    ("ATTACK", "crates/methods/attack"),
    ("CSL", "crates/methods/csl"),
    ("COLORA", "crates/methods/colora"),
    ("LAYERWISE", "crates/methods/layerwise"),
    ("SHIFCON", "crates/methods/shifcon"),
    ("ANGLES", "crates/methods/angles"),
];
/// Sources every method's results depend on.
const SHARED: &[&str] = &[
    "crates/subspace/src",
    "crates/subspace/Cargo.toml",
    "crates/datasets/src",
    "data",
    // The versions of every dependency (ndarray-linalg, rand_distr…): an upgrade can change
    // the numbers without a line of ours changing.
    "Cargo.lock",
];

fn files_under(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
    } else if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            files_under(&entry.path(), out);
        }
    }
}

/// blake3 over (relative path, length, bytes) of every file under `paths`, in sorted order.
fn identity(root: &Path, paths: &[String]) -> String {
    let mut files = Vec::new();
    for p in paths {
        let path = root.join(p);
        println!("cargo:rerun-if-changed={}", path.display());
        files_under(&path, &mut files);
    }
    files.sort();
    let mut hasher = blake3::Hasher::new();
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let name = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .to_string();
        hasher.update(name.as_bytes());
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hasher.finalize().to_hex()[..16].to_string()
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SUBBENCH_RUSTC={version}");
    println!(
        "cargo:rustc-env=SUBBENCH_TARGET={}",
        std::env::var("TARGET").unwrap_or_default()
    );
    println!("cargo:rerun-if-env-changed=RUSTC");

    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../..");
    for (name, folder) in METHOD_CRATES {
        let mut paths = vec![format!("{folder}/src"), format!("{folder}/Cargo.toml")];
        paths.extend(SHARED.iter().map(|s| s.to_string()));
        println!(
            "cargo:rustc-env=SUBBENCH_CODE_{name}={}",
            identity(&root, &paths)
        );
    }
    // The test-only methods live in one file of the harness.
    println!(
        "cargo:rustc-env=SUBBENCH_CODE_TESTKIT={}",
        identity(&root, &["crates/harness/src/testkit.rs".to_string()])
    );
}
