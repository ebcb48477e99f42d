//! Python environments that manifests declare (`python: {requirements: requirements.txt}`),
//! made by subbench: one virtual environment per distinct requirements content, under the cache
//! folder, shared by every manifest, run, shard and thread that asks for the same content.
//!
//! Made once: creation holds an exclusive `flock` on `<hash>.lock` beside the environment, so
//! two processes (two shards, two `--jobs` runs) or two threads never build it twice. Never
//! taken half-made: an environment is good only when its stamp file (its identity) exists, and
//! the stamp is written last, by rename. A folder without a stamp — a creation that was
//! interrupted, killed or failed — is removed and made again. (The environment is built in its
//! final place rather than renamed there because virtual environments are not relocatable: pip
//! writes absolute paths into the scripts it installs.)

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value as Json};

/// A requirements file is a page of pins.
const MAX_REQUIREMENTS_BYTES: u64 = 1 << 20;
/// Written last into a complete environment: its identity.
pub const STAMP: &str = "subbench-env.json";

/// Whether `program` names the Python interpreter that `python:` replaces by the environment's.
pub fn is_python(program: &str) -> bool {
    matches!(program, "python" | "python3")
}

/// The requirements a manifest declares.
#[derive(Debug, Clone)]
pub struct Requirements {
    /// As the manifest writes it (relative to the manifest's folder).
    pub name: String,
    pub path: PathBuf,
    pub text: Vec<u8>,
    /// blake3 of `text`, hex: the environment's name.
    pub hash: String,
}

impl Requirements {
    pub fn read(dir: &Path, name: &str) -> Result<Requirements, String> {
        let path = dir.join(name);
        let text = harness::input::read_regular(&path, MAX_REQUIREMENTS_BYTES).map_err(|e| {
            format!("python: cannot read the requirements `{name}` (relative to the manifest's folder): {e}")
        })?;
        let hash = blake3::hash(&text).to_hex().to_string();
        Ok(Requirements {
            name: name.to_string(),
            path,
            text,
            hash,
        })
    }

    /// The environment's folder name: the hash's first 16 hex digits.
    fn key(&self) -> &str {
        &self.hash[..16]
    }
}

/// A complete environment.
#[derive(Debug, Clone)]
pub struct Environment {
    pub dir: PathBuf,
    /// The stamp: requirements hash, interpreter version, `pip freeze`; goes into provenance.
    pub identity: Json,
}

impl Environment {
    pub fn bin(&self) -> PathBuf {
        self.dir.join("bin")
    }
    pub fn python(&self) -> PathBuf {
        self.bin().join("python")
    }
}

/// Where environments live: `$SUBBENCH_CACHE/envs`, else the user's cache folder
/// (`$XDG_CACHE_HOME`, `~/.cache`; `~/Library/Caches` on macOS) `/subbench/envs`.
pub fn cache_root() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("SUBBENCH_CACHE").filter(|d| !d.is_empty()) {
        return Ok(std::path::absolute(PathBuf::from(dir))
            .map_err(|e| format!("SUBBENCH_CACHE: {e}"))?
            .join("envs"));
    }
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").filter(|d| !d.is_empty()).ok_or(
                "no cache folder for Python environments: set SUBBENCH_CACHE (or HOME)".to_string(),
            )?;
            if cfg!(target_os = "macos") {
                PathBuf::from(home).join("Library/Caches")
            } else {
                PathBuf::from(home).join(".cache")
            }
        }
    };
    Ok(base.join("subbench/envs"))
}

fn complete(dir: &Path) -> Option<Environment> {
    let identity: Json = serde_json::from_slice(&std::fs::read(dir.join(STAMP)).ok()?).ok()?;
    // The interpreter is a link to the base one: a base interpreter removed since (an upgrade)
    // leaves an environment that cannot start.
    dir.join("bin/python").exists().then(|| Environment {
        dir: dir.to_path_buf(),
        identity,
    })
}

/// The environment of `requirements` (declared by `manifest`), made now if it is not complete.
/// `say` tells the user what takes time (creation, waiting for another process).
pub fn ensure(
    requirements: &Requirements,
    manifest: &Path,
    say: &dyn Fn(&str),
) -> Result<Environment, String> {
    let root = cache_root()?;
    let dir = root.join(requirements.key());
    if let Some(env) = complete(&dir) {
        return Ok(env);
    }
    let where_ = |e: io::Error| {
        format!(
            "cannot make the Python environment in {}: {e}",
            root.display()
        )
    };
    std::fs::create_dir_all(&root).map_err(where_)?;
    let _lock = lock(
        &root.join(format!("{}.lock", requirements.key())),
        &dir,
        say,
    )
    .map_err(where_)?;
    // Made by another process while this one waited.
    if let Some(env) = complete(&dir) {
        return Ok(env);
    }
    if dir.exists() {
        say(&format!(
            "removing the incomplete Python environment {} (an interrupted creation)",
            dir.display()
        ));
        std::fs::remove_dir_all(&dir).map_err(where_)?;
    }
    say(&format!(
        "creating the Python environment of {} ({}) in {}",
        manifest.display(),
        requirements.name,
        dir.display()
    ));
    let made = build(requirements, manifest, &dir);
    if made.is_err() {
        // Nothing half-made is left to look at; the stamp's absence already marks it as bad.
        let _ = std::fs::remove_dir_all(&dir);
    }
    made
}

/// An exclusive lock on `path`, held until the file is dropped.
fn lock(path: &Path, dir: &Path, say: &dyn Fn(&str)) -> io::Result<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let fd = file.as_raw_fd();
    // SAFETY: flock(2) on a descriptor this process owns.
    if unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(file);
    }
    say(&format!(
        "waiting for another subbench that is creating the Python environment {}",
        dir.display()
    ));
    loop {
        // SAFETY: as above.
        if unsafe { libc::flock(fd, libc::LOCK_EX) } == 0 {
            return Ok(file);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn run(command: &mut Command) -> Result<Output, String> {
    command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot start `{:?}`: {e}", command.get_program()))
}

/// Make the environment in `dir` (absent), install, write the stamp last.
fn build(requirements: &Requirements, manifest: &Path, dir: &Path) -> Result<Environment, String> {
    let fail = |m: String| format!("{}: {m}", manifest.display());
    let venv = run(Command::new("python3").args(["-m", "venv"]).arg(dir)).map_err(fail)?;
    if !venv.status.success() {
        return Err(fail(format!(
            "`python3 -m venv` failed ({}); subbench makes the environment with the python3 on PATH, which needs its venv module (Debian: apt-get install python3-venv)",
            last_line(&venv.stderr).unwrap_or("no message")
        )));
    }
    let python = dir.join("bin/python");
    // Relative paths inside the requirements (`./pkg`, `-r other.txt`) are the manifest's folder's.
    let folder = requirements.path.parent().unwrap_or(Path::new("."));
    let install = run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements.path)
        .current_dir(folder))
    .map_err(fail)?;
    if !install.status.success() {
        return Err(fail(install_failure(requirements, &install)));
    }
    let version = run(
        Command::new(&python).args(["-c", "import platform; print(platform.python_version())"])
    )
    .map_err(fail)?;
    let freeze =
        run(Command::new(&python).args(["-m", "pip", "freeze", "--disable-pip-version-check"]))
            .map_err(fail)?;
    if !version.status.success() || !freeze.status.success() {
        return Err(fail(
            "the new environment's interpreter does not run `pip freeze`".into(),
        ));
    }
    let identity = json!({
        "requirements": requirements.name,
        "requirements_blake3": requirements.hash,
        "python_version": String::from_utf8_lossy(&version.stdout).trim(),
        "pip_freeze": String::from_utf8_lossy(&freeze.stdout).lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>(),
    });
    let text = serde_json::to_vec_pretty(&identity).expect("JSON serialises");
    let partial = dir.join(format!("{STAMP}.partial"));
    std::fs::write(&partial, text)
        .and_then(|_| std::fs::rename(&partial, dir.join(STAMP)))
        .map_err(|e| fail(format!("cannot write the environment's stamp: {e}")))?;
    Ok(Environment {
        dir: dir.to_path_buf(),
        identity,
    })
}

/// Which requirement pip could not install, from its messages.
fn install_failure(requirements: &Requirements, install: &Output) -> String {
    let text = String::from_utf8_lossy(&install.stderr);
    let errors: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("ERROR: "))
        .collect();
    let package = errors.iter().find_map(|e| {
        e.split_once("No matching distribution found for ")
            .or(e.split_once("satisfies the requirement "))
            .map(|(_, rest)| rest.split_whitespace().next().unwrap_or(rest))
    });
    let detail = errors
        .last()
        .copied()
        .or(last_line(&install.stderr))
        .unwrap_or("no message");
    match package {
        Some(package) => format!(
            "pip could not install `{package}` from {} ({detail}); is the package index reachable and the pin right?",
            requirements.name
        ),
        None => format!(
            "pip could not install the requirements {} ({detail})",
            requirements.name
        ),
    }
}

fn last_line(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()?
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
}
