//! Python environments declared by manifests (`python: {requirements: …}`), made by subbench
//! through the real binary with real `python3 -m venv` and pip: installed from a wheel built
//! here and found with `--no-index --find-links` (no network needed), used by the worker,
//! recorded in provenance, made once by two concurrent shards, never taken half-made, and a
//! requirement that cannot be installed named with its manifest (exit 2).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{assert_user_error, stderr, stdout};
use harness::{Status, Store};

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `subbench` in `dir` with its environments cached in `dir/cache`.
fn subbench(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_subbench"))
        .current_dir(dir)
        .args(args)
        .env("SUBBENCH_CACHE", dir.join("cache"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the subbench binary runs")
}

/// A pure-Python wheel `envprobe-1.0` whose module says `VALUE = 42`, in `dir/m/wheels`; a
/// manifest in `dir/m` whose worker imports it; a spec `s.yaml` of three trials.
fn layout(dir: &Path, requirements: &str) {
    let m = dir.join("m");
    fs::create_dir_all(m.join("wheels")).unwrap();
    let build = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    z.writestr('envprobe.py', 'VALUE = 42.0\\n')\n    d = 'envprobe-1.0.dist-info/'\n    z.writestr(d + 'METADATA', 'Metadata-Version: 2.1\\nName: envprobe\\nVersion: 1.0\\n')\n    z.writestr(d + 'WHEEL', 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')\n    z.writestr(d + 'RECORD', 'envprobe.py,,\\n' + d + 'METADATA,,\\n' + d + 'WHEEL,,\\n' + d + 'RECORD,,\\n')\n";
    let made = Command::new("python3")
        .args(["-c", build])
        .arg(m.join("wheels/envprobe-1.0-py3-none-any.whl"))
        .status()
        .unwrap();
    assert!(made.success());
    // The helper and the implementation it loads from beside it.
    fs::create_dir_all(m.join("src/subbench")).unwrap();
    for f in ["subbench_worker.py", "src/subbench/worker.py"] {
        fs::copy(repo().join("python").join(f), m.join(f)).unwrap();
    }
    fs::write(
        m.join("worker.py"),
        "import sys, envprobe\nfrom subbench_worker import serve\nserve(lambda p, s: {'value': envprobe.VALUE + p['x'], 'prefix': float(sys.prefix != sys.base_prefix)})\n",
    )
    .unwrap();
    fs::write(m.join("requirements.txt"), requirements).unwrap();
    fs::write(
        m.join("manifest.yaml"),
        "id: envp.value\nsummary: s\ncommand: [python3, worker.py]\npython: {requirements: requirements.txt}\nfiles: [worker.py, subbench_worker.py]\nparams:\n  x: {type: float, default: 0.0}\nmetrics:\n  value: \"42 + x\"\n  prefix: \"1 in a virtual environment\"\n",
    )
    .unwrap();
    fs::write(
        dir.join("s.yaml"),
        "name: envs\ntitle: t\npaper: test\nclaim: c\nseed: 1\nexternal: [m/manifest.yaml]\nmethod: envp.value\nsweep:\n  grid: {x: [1, 2, 3, 4]}\nmetrics:\n  value: {}\n",
    )
    .unwrap();
}

const PINNED: &str = "--no-index\n--find-links wheels\nenvprobe==1.0\n";

fn envs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("cache/envs"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".lock"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_manifests_environment_is_made_once_used_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    layout(d, PINNED);
    let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o)
            .matches("envp.value: creating the Python environment")
            .count(),
        1,
        "{}",
        stderr(&o)
    );
    let records = Store::at(&d.join("r/envs")).load().unwrap();
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(r.metrics["value"], 42.0 + r.params["x"].as_f64().unwrap());
        assert_eq!(r.metrics["prefix"], 1.0);
    }
    // The run's provenance says what the trials ran in.
    let provenance: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("r/envs/provenance.json")).unwrap()).unwrap();
    let env = &provenance["runs"][0]["environments"]["envp.value"];
    assert_eq!(
        env["requirements_blake3"].as_str().unwrap(),
        blake3_hex(PINNED)
    );
    assert!(env["python_version"].as_str().unwrap().starts_with('3'));
    assert_eq!(env["pip_freeze"], serde_json::json!(["envprobe==1.0"]));
    // `subbench env` finds it made; a second run makes nothing.
    let o = subbench(d, &["env", "s.yaml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ok envp.value: Python 3."),
        "{}",
        stdout(&o)
    );
    assert!(!stderr(&o).contains("creating"), "{}", stderr(&o));
    assert_eq!(envs(d).len(), 1);
    // A changed requirements file is changed code: its trials run again, in a new environment.
    fs::write(d.join("m/requirements.txt"), format!("# pinned\n{PINNED}")).unwrap();
    let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert!(
        stderr(&o).contains("4 trials to run, 0 already stored"),
        "{}",
        stderr(&o)
    );
    assert_eq!(envs(d).len(), 2);
}

/// The environment's identity: the blake3 of the requirements' bytes.
fn blake3_hex(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

#[test]
fn two_concurrent_shards_create_one_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    layout(d, PINNED);
    let shard = |i: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_subbench"));
        c.current_dir(d)
            .args(["run", "s.yaml", "--out", "r", "--no-report", "--shard", i])
            .env("SUBBENCH_CACHE", d.join("cache"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    let (a, b) = (shard("1/2"), shard("2/2"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(b.status.success(), "{}", stderr(&b));
    let said = format!("{}{}", stderr(&a), stderr(&b));
    assert_eq!(
        said.matches("envp.value: creating the Python environment")
            .count(),
        1,
        "{said}"
    );
    assert_eq!(envs(d).len(), 1);
    let o = subbench(d, &["merge", "r/envs"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let records = Store::at(&d.join("r/envs")).load().unwrap();
    assert_eq!(records.len(), 4);
    assert!(
        records.iter().all(|r| r.status == Status::Ok),
        "{records:?}"
    );
}

#[test]
fn an_interrupted_creation_is_never_taken_for_a_good_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    layout(d, PINNED);
    let o = subbench(d, &["env", "m/manifest.yaml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // What a creation killed before its last step leaves: everything but the stamp, and a
    // package missing.
    let env = d.join("cache/envs").join(&envs(d)[0]);
    fs::remove_file(env.join("subbench-env.json")).unwrap();
    let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("removing the incomplete Python environment"),
        "{}",
        stderr(&o)
    );
    assert!(env.join("subbench-env.json").is_file());
    let records = Store::at(&d.join("r/envs")).load().unwrap();
    assert!(
        records.iter().all(|r| r.status == Status::Ok),
        "{records:?}"
    );
}

#[test]
fn a_requirement_that_cannot_be_installed_is_named_with_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    layout(d, "--no-index\nenvprobe-not-published==9.9\n");
    let o = subbench(d, &["env", "s.yaml"]);
    // What it tried (one progress line), then the one error line.
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.trim_end().lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("envp.value: creating the Python environment"),
        "{err}"
    );
    assert!(
        lines[1].starts_with("error: ")
            && lines[1].contains("m/manifest.yaml: pip could not install `envprobe-not-published==9.9` from requirements.txt"),
        "{err}"
    );
    assert!(
        envs(d).is_empty(),
        "nothing half-made is left: {:?}",
        envs(d)
    );
    // A run fails those trials with the same cause, said once.
    let o = subbench(d, &["run", "s.yaml", "--out", "r", "--no-report"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("failed: envs: 4 trials of envp.value failed: ")
            && stderr(&o)
                .contains("m/manifest.yaml: pip could not install `envprobe-not-published==9.9`")
            && stderr(&o).contains("(first of 4 identical errors"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_manifest_without_python_keeps_the_python3_on_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    layout(d, PINNED);
    let manifest = fs::read_to_string(d.join("m/manifest.yaml")).unwrap();
    fs::write(
        d.join("m/manifest.yaml"),
        manifest.replace("python: {requirements: requirements.txt}\n", ""),
    )
    .unwrap();
    let o = subbench(d, &["env", "m/manifest.yaml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("declares no environment"),
        "{}",
        stdout(&o)
    );
    assert!(envs(d).is_empty());
    // And a `python:` whose file is missing is a manifest error on its line.
    fs::write(
        d.join("m/manifest.yaml"),
        manifest.replace("requirements.txt}", "requirement.txt}"),
    )
    .unwrap();
    let o = subbench(d, &["validate", "s.yaml"]);
    assert_user_error(
        &o,
        &[
            "m/manifest.yaml:4",
            "cannot read the requirements `requirement.txt`",
        ],
    );
}
