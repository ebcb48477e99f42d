//! `provenance.json`: what produced the stored results. Each run appends an entry, so the file is
//! the history of the store: git commit and dirty flag, subbench version, rustc, target, CPU,
//! threads, BLAS, host, start and end time, and the hash of the spec file.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value as Json};

use crate::error::HarnessError;
use crate::runner::RunSummary;
use crate::spec::Spec;
use crate::store::write_json;

/// Facts fixed at build time, supplied by the binary.
#[derive(Debug, Clone, Default)]
pub struct BuildInfo {
    pub version: String,
    pub rustc: String,
    pub target: String,
    pub blas: String,
}

/// Facts about one run.
#[derive(Debug, Clone)]
pub struct RunTimes {
    pub started: SystemTime,
    pub ended: SystemTime,
    pub threads: usize,
}

/// Append this run to `dir/provenance.json`. Returns a warning for the user when the file held
/// no readable history and was kept aside (see [`runs_to_append_to`]).
pub fn record_run(
    dir: &Path,
    spec: &Spec,
    build: &BuildInfo,
    times: &RunTimes,
    summary: &RunSummary,
) -> Result<Option<String>, HarnessError> {
    let path = dir.join("provenance.json");
    let (mut runs, warning) = runs_to_append_to(&path)?;
    let spec_dir = spec.file.parent().unwrap_or(Path::new("."));
    let (commit, dirty) = git_state(spec_dir);
    runs.push(json!({
        "spec_file": spec.file.display().to_string(),
        "spec_hash": spec.hash,
        "git_commit": commit,
        "git_dirty": dirty,
        "subbench_version": build.version,
        "rustc": build.rustc,
        "target": build.target,
        "blas": build.blas,
        "cpu": cpu_model(),
        "threads": times.threads,
        "hostname": hostname(),
        "started": rfc3339(times.started),
        "ended": rfc3339(times.ended),
        "trials_total": summary.total,
        "trials_stored_before": summary.stored,
        "trials_ran": summary.ran,
        "trials_failed": summary.failed,
        "trials_stale": summary.stale,
        // The code identity of every method the run used (see `Method::code`).
        "method_codes": spec.codes,
    }));
    write_json(&path, &json!({ "spec": spec.name, "runs": runs }))?;
    Ok(warning)
}

/// The run history in `path`, to append a run to. A file that is not a provenance document (one
/// stray comma) is never overwritten: it is renamed `provenance.corrupt-<unix seconds>.json`
/// beside it, a warning names both files, and the history starts again.
fn runs_to_append_to(path: &Path) -> Result<(Vec<Json>, Option<String>), HarnessError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(e) => return Err(HarnessError::store(path, e)),
    };
    let parsed = serde_json::from_str::<Json>(&text)
        .ok()
        .and_then(|v| v.get("runs").and_then(Json::as_array).cloned());
    if let Some(runs) = parsed {
        return Ok((runs, None));
    }
    // Seconds, nanoseconds and the process: two corruptions never share a name, so a kept copy
    // is never replaced.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let aside = path.with_file_name(format!(
        "provenance.corrupt-{}.{:09}-{}.json",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id()
    ));
    std::fs::rename(path, &aside).map_err(|e| HarnessError::store(path, e))?;
    let warning = format!(
        "{} is not a provenance file (unreadable JSON or no `runs` list); kept as {} and a new history is started",
        path.display(),
        aside.display()
    );
    Ok((Vec::new(), Some(warning)))
}

/// The run entries of `dir/provenance.json` (a shard's, before it is merged).
pub fn run_entries(dir: &Path) -> Vec<Json> {
    std::fs::read_to_string(dir.join("provenance.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Json>(&t).ok())
        .and_then(|v| v.get("runs").and_then(Json::as_array).cloned())
        .unwrap_or_default()
}

/// The `merge` objects of the merge entries of `dir/provenance.json`, oldest first.
pub fn merge_entries(dir: &Path) -> Vec<Json> {
    run_entries(dir)
        .into_iter()
        .filter_map(|run| run.get("merge").cloned())
        .collect()
}

/// Append the runs of the shards a merge folded (each once, however often a merge that was
/// interrupted before removing its shards is repeated) and an entry for the merge itself.
pub fn record_merge(
    dir: &Path,
    spec: &str,
    shard_runs: Vec<Json>,
    merge: Json,
    build: &BuildInfo,
    started: SystemTime,
) -> Result<Option<String>, HarnessError> {
    let (mut runs, warning) = runs_to_append_to(&dir.join("provenance.json"))?;
    for run in shard_runs {
        if !runs.contains(&run) {
            runs.push(run);
        }
    }
    runs.push(json!({
        "merge": merge,
        "subbench_version": build.version,
        "hostname": hostname(),
        "started": rfc3339(started),
        "ended": rfc3339(SystemTime::now()),
    }));
    write_json(
        &dir.join("provenance.json"),
        &json!({ "spec": spec, "runs": runs }),
    )?;
    Ok(warning)
}

/// Append a verification (`subbench verify`, see [`crate::verify`]) to `dir/provenance.json`:
/// `verify` says what was compared and the result; the facts beside it are this machine's.
pub fn record_verification(
    dir: &Path,
    spec: &str,
    verify: Json,
    build: &BuildInfo,
    started: SystemTime,
) -> Result<Option<String>, HarnessError> {
    let path = dir.join("provenance.json");
    let (mut runs, warning) = runs_to_append_to(&path)?;
    let (commit, _) = git_state(&std::env::current_dir().unwrap_or_default());
    runs.push(json!({
        "verify": verify,
        "subbench_version": build.version,
        "blas": build.blas,
        "git_commit": commit,
        "hostname": hostname(),
        "started": rfc3339(started),
        "ended": rfc3339(SystemTime::now()),
    }));
    write_json(&path, &json!({ "spec": spec, "runs": runs }))?;
    Ok(warning)
}

/// The latest verification recorded in `dir/provenance.json`: its `verify` object and when it
/// ended.
pub fn last_verification(dir: &Path) -> Option<(Json, String)> {
    run_entries(dir).into_iter().rev().find_map(|run| {
        let ended = run.get("ended")?.as_str()?.to_string();
        Some((run.get("verify")?.clone(), ended))
    })
}

pub(crate) fn git_state(dir: &Path) -> (Option<String>, Option<bool>) {
    let run = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let commit =
        run(&["rev-parse", "HEAD"]).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let dirty = commit
        .as_ref()
        .and_then(|_| run(&["status", "--porcelain"]))
        .map(|o| !o.stdout.is_empty());
    (commit, dirty)
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// UTC time as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, Howard Hinnant's algorithm).
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_826_096)),
            "2026-11-28T00:34:56Z"
        );
    }
}
