//! `provenance.json`: what produced the stored results. Each run appends an entry, so the file is
//! the history of the store: git commit and dirty flag, subbench version, rustc, target, CPU,
//! threads, BLAS, host, start and end time, the hash of the spec file and the code identity of
//! every method. A merge appends the runs of the shards it folded and an entry of its own.
//!
//! The entries are typed ([`Entry`]): every reader of the file reads it through [`read`], so a
//! renamed field is a compile error in its readers, never a silently empty history.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::files::write_json;
use super::schema::PROVENANCE_FILE;
use crate::error::HarnessError;

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

/// What a run did with the trials of its sweep (of its shard's slice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrialCounts {
    pub total: usize,
    pub stored_before: usize,
    pub ran: usize,
    pub failed: usize,
    pub stale: usize,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    #[serde(default)]
    pub spec: String,
    pub runs: Vec<Entry>,
}

/// One entry of the history, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Entry {
    Merge(MergeEntry),
    Verify(VerifyEntry),
    Run(Box<RunEntry>),
    /// Anything else (written by hand, or by another version): kept as it is, never read.
    Other(Json),
}

/// A run of the spec, in this store or in a shard folded into it. Unknown fields make an entry
/// [`Entry::Other`], so that rewriting the file never drops what another version wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunEntry {
    #[serde(default)]
    pub spec_file: Option<String>,
    #[serde(default)]
    pub spec_hash: Option<String>,
    #[serde(default)]
    pub git_commit: Option<String>,
    #[serde(default)]
    pub git_dirty: Option<bool>,
    #[serde(default)]
    pub subbench_version: Option<String>,
    #[serde(default)]
    pub rustc: Option<String>,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub blas: Option<String>,
    #[serde(default)]
    pub cpu: Option<String>,
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default)]
    pub hostname: Option<String>,
    /// RFC 3339 UTC times (they sort as text).
    #[serde(default)]
    pub started: Option<String>,
    #[serde(default)]
    pub ended: Option<String>,
    #[serde(default)]
    pub trials_total: Option<usize>,
    #[serde(default)]
    pub trials_stored_before: Option<usize>,
    #[serde(default)]
    pub trials_ran: Option<usize>,
    #[serde(default)]
    pub trials_failed: Option<usize>,
    #[serde(default)]
    pub trials_stale: Option<usize>,
    /// The code identity of every method the run used (see `Method::code`).
    #[serde(default)]
    pub method_codes: BTreeMap<String, String>,
    /// The shard (`III-of-NNN`) that ran it, once a merge folded that shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The run recorded the blake3 of every file it wrote: from then on, a store without its
    /// checksums file is damaged, not a store from before checksums existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksums: Option<bool>,
    /// The Python environments the run's external methods ran in (requirements hash,
    /// interpreter, `pip freeze`), by method; only those the run used.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, Json>,
}

/// A merge of a cluster run's shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeEntry {
    pub merge: MergeInfo,
    #[serde(default)]
    pub subbench_version: Option<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub started: Option<String>,
    #[serde(default)]
    pub ended: Option<String>,
}

/// A verification of the stored trials (`subbench verify`, see [`crate::verify`]): `verify` says
/// what was compared and the result; the facts beside it are the verifying machine's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyEntry {
    pub verify: Json,
    #[serde(default)]
    pub subbench_version: Option<String>,
    #[serde(default)]
    pub blas: Option<String>,
    #[serde(default)]
    pub git_commit: Option<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub started: Option<String>,
    #[serde(default)]
    pub ended: Option<String>,
}

/// What a merge folded, and the sweep the shards belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeInfo {
    pub shards: u32,
    pub spec_hash: String,
    pub seeds: u32,
    pub sweep_trials: usize,
    /// Shard index (as text: JSON keys are text, and the entry is read through an untagged
    /// enum, which cannot turn them into numbers) → trials in its slice.
    pub folded: BTreeMap<String, usize>,
}

/// The history in `dir/provenance.json`; empty when there is none or it is not a provenance
/// file (the next run keeps such a file aside, see [`record_run`]).
pub fn read(dir: &Path) -> Provenance {
    std::fs::read_to_string(dir.join(PROVENANCE_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<Provenance>(&t).ok())
        .unwrap_or_default()
}

impl Provenance {
    /// The runs, oldest first.
    pub fn runs(&self) -> impl Iterator<Item = &RunEntry> {
        self.runs.iter().filter_map(|e| match e {
            Entry::Run(run) => Some(run.as_ref()),
            _ => None,
        })
    }

    /// Whether a run of this history wrote checksums (see [`RunEntry::checksums`]).
    pub fn written_with_checksums(&self) -> bool {
        self.runs().any(|r| r.checksums == Some(true))
    }

    /// The most recent run (by its end time).
    pub fn last_run(&self) -> Option<&RunEntry> {
        self.runs().max_by(|a, b| a.ended.cmp(&b.ended))
    }

    /// When the rows of `method` computed by code `code` were last known current: the end of
    /// the latest run that used that code for that method.
    pub fn current_until(&self, method: &str, code: &str) -> Option<&str> {
        self.runs()
            .filter(|r| r.method_codes.get(method).is_some_and(|c| c == code))
            .filter_map(|r| r.ended.as_deref())
            .max()
    }

    /// The merges, oldest first.
    pub fn merges(&self) -> impl Iterator<Item = &MergeInfo> {
        self.runs.iter().filter_map(|e| match e {
            Entry::Merge(m) => Some(&m.merge),
            _ => None,
        })
    }
}

/// The entry of a run that is ending now.
pub fn run_entry(
    spec_file: &Path,
    spec_hash: &str,
    codes: &BTreeMap<String, String>,
    build: &BuildInfo,
    times: &RunTimes,
    counts: TrialCounts,
) -> RunEntry {
    let spec_dir = spec_file.parent().unwrap_or(Path::new("."));
    let (commit, dirty) = git_state(spec_dir);
    RunEntry {
        spec_file: Some(spec_file.display().to_string()),
        spec_hash: Some(spec_hash.to_string()),
        git_commit: commit,
        git_dirty: dirty,
        subbench_version: Some(build.version.clone()),
        rustc: Some(build.rustc.clone()),
        target: Some(build.target.clone()),
        blas: Some(build.blas.clone()),
        cpu: cpu_model(),
        threads: Some(times.threads),
        hostname: hostname(),
        started: Some(rfc3339(times.started)),
        ended: Some(rfc3339(times.ended)),
        trials_total: Some(counts.total),
        trials_stored_before: Some(counts.stored_before),
        trials_ran: Some(counts.ran),
        trials_failed: Some(counts.failed),
        trials_stale: Some(counts.stale),
        method_codes: codes.clone(),
        shard: None,
        checksums: Some(true),
        environments: BTreeMap::new(),
    }
}

/// Append `run` to `dir/provenance.json`. Returns a warning for the user when the file held
/// no readable history and was kept aside (see [`runs_to_append_to`]).
pub fn record_run(dir: &Path, spec: &str, run: RunEntry) -> Result<Option<String>, HarnessError> {
    let path = dir.join(PROVENANCE_FILE);
    let (mut runs, warning) = runs_to_append_to(&path)?;
    runs.push(Entry::Run(Box::new(run)));
    write(&path, spec, runs)?;
    Ok(warning)
}

/// Append the runs of the shards a merge folded (each once, however often a merge that was
/// interrupted before removing its shards is repeated) and an entry for the merge itself.
pub fn record_merge(
    dir: &Path,
    spec: &str,
    shard_runs: Vec<Entry>,
    merge: MergeInfo,
    build: &BuildInfo,
    started: SystemTime,
) -> Result<Option<String>, HarnessError> {
    let path = dir.join(PROVENANCE_FILE);
    let (mut runs, warning) = runs_to_append_to(&path)?;
    for run in shard_runs {
        if !runs.contains(&run) {
            runs.push(run);
        }
    }
    runs.push(Entry::Merge(MergeEntry {
        merge,
        subbench_version: Some(build.version.clone()),
        hostname: hostname(),
        started: Some(rfc3339(started)),
        ended: Some(rfc3339(SystemTime::now())),
    }));
    write(&path, spec, runs)?;
    Ok(warning)
}

/// Append a verification to `dir/provenance.json`.
pub fn record_verification(
    dir: &Path,
    spec: &str,
    verify: Json,
    build: &BuildInfo,
    started: SystemTime,
) -> Result<Option<String>, HarnessError> {
    let path = dir.join(PROVENANCE_FILE);
    let (mut runs, warning) = runs_to_append_to(&path)?;
    let (commit, _) = git_state(&std::env::current_dir().unwrap_or_default());
    runs.push(Entry::Verify(VerifyEntry {
        verify,
        subbench_version: Some(build.version.clone()),
        blas: Some(build.blas.clone()),
        git_commit: commit,
        hostname: hostname(),
        started: Some(rfc3339(started)),
        ended: Some(rfc3339(SystemTime::now())),
    }));
    write(&path, spec, runs)?;
    Ok(warning)
}

/// The latest verification recorded in `dir/provenance.json`: its `verify` object and when it
/// ended.
pub fn last_verification(dir: &Path) -> Option<(Json, String)> {
    read(dir)
        .runs
        .into_iter()
        .rev()
        .find_map(|entry| match entry {
            Entry::Verify(v) => Some((v.verify, v.ended?)),
            _ => None,
        })
}

/// Every entry of `dir/provenance.json` as JSON, oldest first, for readers that compare fields
/// by name across entry kinds (`verify`'s likely causes, the bundle's RO-Crate): the same names
/// the typed entries serialise to.
pub fn run_entries(dir: &Path) -> Vec<Json> {
    read(dir)
        .runs
        .iter()
        .filter_map(|entry| serde_json::to_value(entry).ok())
        .collect()
}

fn write(path: &Path, spec: &str, runs: Vec<Entry>) -> Result<(), HarnessError> {
    let file = Provenance {
        spec: spec.to_string(),
        runs,
    };
    let value = serde_json::to_value(&file).map_err(|e| HarnessError::store(path, e))?;
    write_json(path, &value)
}

/// The run history in `path`, to append a run to. A file that is not a provenance document (one
/// stray comma) is never overwritten: it is renamed `provenance.corrupt-<unix seconds>.json`
/// beside it, a warning names both files, and the history starts again.
fn runs_to_append_to(path: &Path) -> Result<(Vec<Entry>, Option<String>), HarnessError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(e) => return Err(HarnessError::store(path, e)),
    };
    if let Ok(file) = serde_json::from_str::<Provenance>(&text) {
        return Ok((file.runs, None));
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
