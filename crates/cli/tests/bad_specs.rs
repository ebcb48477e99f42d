//! The corpus of malformed specs under `tests/specs/bad/`: every file must be refused with exit
//! code 2, one line on stderr naming the file (and the fragment listed in `EXPECTED`), no panic,
//! and nothing written under results/ or reports/. Generated cases (a 50 MB file) are added here.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{assert_user_error, subbench};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/specs/bad")
}

#[test]
fn every_malformed_spec_is_refused_with_one_clear_line() {
    let dir = corpus();
    let expected = fs::read_to_string(dir.join("EXPECTED")).expect("tests/specs/bad/EXPECTED");
    let work = tempfile::tempdir().unwrap();
    let mut cases = 0;
    let mut failures = Vec::new();
    for line in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (file, fragment) = line.split_once('\t').unwrap_or((line, ""));
        let path = dir.join(file);
        assert!(path.exists(), "EXPECTED lists a missing file: {file}");
        let shown = path.display().to_string();
        let mut needles = vec![file];
        if !fragment.is_empty() {
            needles.push(fragment);
        }
        for args in [
            vec!["validate", shown.as_str()],
            vec!["run", shown.as_str(), "--out", "results"],
        ] {
            let out = subbench(work.path(), &args);
            let caught = std::panic::catch_unwind(|| assert_user_error(&out, &needles));
            if caught.is_err() {
                failures.push(format!(
                    "{file} ({}): {}",
                    args[0],
                    common::stderr(&out).trim()
                ));
            }
        }
        cases += 1;
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let on_disk = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert_eq!(
        cases, on_disk,
        "every file of the corpus is listed in EXPECTED"
    );
    assert!(cases >= 50, "the corpus has {cases} cases");
    assert!(
        !work.path().join("results").exists() && !work.path().join("reports").exists(),
        "nothing may be written"
    );
}

#[test]
fn a_50_megabyte_spec_is_refused_without_reading_it() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("huge.yaml");
    let line = "# padding padding padding padding padding padding padding padding padding\n";
    let text: String = line.repeat(50 * 1024 * 1024 / line.len());
    fs::write(&path, format!("name: huge\n{text}")).unwrap();
    assert_user_error(
        &subbench(work.path(), &["validate", "huge.yaml"]),
        &["huge.yaml", "bytes", "at most"],
    );
}
