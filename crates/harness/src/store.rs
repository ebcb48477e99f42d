//! The result store: `results/<spec>/trials.parquet` (+ `trials.csv`, `curves.parquet`,
//! `provenance.json`), one row per trial, the contract that reports and other tools read.
//!
//! Nothing finished is lost: finished trials are written while the sweep runs as small part files
//! under `parts/`, each written to a temporary name and renamed into place (a rename is atomic, so
//! a reader sees a whole part or none). `consolidate` folds the parts into the main files, again by
//! atomic rename, under an exclusive lock so that two processes never overwrite each other's work.
//! A killed run therefore loses only the trials in flight.
//!
//! Nothing is silently changed either: every file's blake3 is recorded as it is written
//! (`checksums.json`, and `<stem>.checksums.json` for each part; see `store/checksums.rs`) and
//! verified by [`Store::load`], the one way every command reads a store, so that bit rot or a
//! lost file is an error naming the file and the way out. Column and file names are in
//! [`schema`].
//!
//! A shard of a cluster run is a store of its own under `shards/III-of-NNN/`, with a `shard.json`
//! that its writer rewrites with `complete: true` after the last trial of its slice is
//! consolidated, under the shard's writer lock. [`merge`] folds only shards that say so and whose
//! writer lock is free, holding that lock until the folder is gone; every other shard is left as
//! it is and named. Merges are serialized by `.merge.lock` in the spec's folder.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use polars::prelude::*;

use crate::error::{one_line, HarnessError};
use crate::value::Value;

mod checksums;
pub mod schema;

use checksums::{Checksums, Verdict};
use schema::{
    CURVE, ELAPSED_S, ERROR, METHOD, METHOD_CODE, ORDER, REP, SEED, SPEC, STATUS, STEP, TRIAL_ID,
    VALUE,
};

type Result<T> = std::result::Result<T, HarnessError>;

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    /// The method returned an error or panicked.
    Error,
    /// A metric was not finite, or the method reported divergence.
    Diverged,
    /// The trial ran longer than the spec's `timeout`.
    Timeout,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Diverged => "diverged",
            Status::Timeout => "timeout",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Ok, Status::Error, Status::Diverged, Status::Timeout]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One stored trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRecord {
    pub trial_id: String,
    /// Position of the trial in the spec's expansion; rows are stored in this order.
    pub order: u64,
    pub spec: String,
    pub method: String,
    /// The code identity of the method that computed the trial (see `Method::code`); empty for
    /// trials stored before code identities existed (they are stale).
    pub method_code: String,
    pub rep: u32,
    pub seed: u64,
    pub status: Status,
    pub error: Option<String>,
    pub elapsed_s: f64,
    pub params: BTreeMap<String, Value>,
    pub metrics: BTreeMap<String, f64>,
    pub curves: BTreeMap<String, Vec<(u32, f64)>>,
}

/// A store folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

use schema::{
    CHECKSUMS_FILE as CHECKSUMS, CURVES_FILE as CURVES, DAMAGED_DIR, PARTS_DIR as PARTS,
    PART_CHECKSUMS, PART_CURVES, PART_TRIALS, SHARDS_DIR as SHARDS, TRIALS_CSV,
    TRIALS_FILE as TRIALS,
};
const SHARD_INFO: &str = "shard.json";
const WRITER_LOCK: &str = ".writer.lock";
const MERGE_LOCK: &str = ".merge.lock";
const CONSOLIDATE_LOCK: &str = ".lock";

/// What trials.csv can and cannot do for a damaged trials.parquet.
const CSV_CANNOT_RESTORE: &str = "trials.csv cannot restore it: it keeps the values but not the column types (an integer parameter and a text one such as `3` read back alike), so it cannot give back the file bit for bit";

/// Whether a read parses the curves; they are verified either way, so that every reader of a
/// store sees the same damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curves {
    Parse,
    Verify,
}

/// A file of a store, for the way out of its damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Trials,
    Csv,
    Curves,
    Checksums,
    Part,
}

/// The identity of a parsed main file: the blake3 of its bytes (and of its curves).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ParsedKey {
    trials: String,
    curves: Option<String>,
    parse_curves: bool,
}

/// The last main files parsed by this process, by content: `report` reads each store several
/// times (its trial ids, its table, its checks, its curves), and parsing 25,000 trials with
/// polars costs far more than hashing the bytes again. Keyed by the checksums of the bytes just
/// read, so a hit is exactly what parsing would give.
static PARSED: std::sync::Mutex<Vec<(ParsedKey, std::sync::Arc<Vec<TrialRecord>>)>> =
    std::sync::Mutex::new(Vec::new());
/// Two: the parse with curves and the one without, of the store being reported.
const PARSED_KEPT: usize = 2;

fn parsed(key: &ParsedKey) -> Option<std::sync::Arc<Vec<TrialRecord>>> {
    let cache = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    cache.iter().find(|(k, _)| k == key).map(|(_, r)| r.clone())
}

fn remember_parsed(key: ParsedKey, records: &[TrialRecord]) {
    let mut cache = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|(k, _)| *k != key);
    if cache.len() >= PARSED_KEPT {
        cache.remove(0);
    }
    cache.push((key, std::sync::Arc::new(records.to_vec())));
}

/// What one read of a store found.
struct Snapshot {
    records: Vec<TrialRecord>,
    parts: Vec<PathBuf>,
    /// The main files as found: name → blake3 (`None`: absent).
    main: BTreeMap<String, Option<String>>,
}

impl Store {
    /// The store of spec `name` under `out`, or of one shard of it. Nothing is created yet.
    pub fn new(out: &Path, name: &str, shard: Option<(u32, u32)>) -> Store {
        let dir = out.join(name);
        Store {
            dir: match shard {
                Some((index, count)) => dir.join(SHARDS).join(format!("{index:03}-of-{count:03}")),
                None => dir,
            },
        }
    }

    /// A store at an existing folder (for `merge`, `report`, `summary`).
    pub fn at(dir: &Path) -> Store {
        Store {
            dir: dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every stored trial with its curves: the main file plus any parts not yet consolidated,
    /// one row per trial id (an `ok` row wins over a failed one; among equals, the later one),
    /// in trial order. This is the one way to read a store: `run`, `report`, `check`, `summary`
    /// and `merge` all read through it, so that they all see the same trials.
    ///
    /// Every file is verified against the checksums recorded when it was written: a damaged
    /// file, a part whose curves file is gone, or a `curves.parquet` lost beside
    /// `trials.parquet` is an error naming the file and the way out ([`HarnessError::Damaged`]),
    /// never a silently different table or an empty figure.
    ///
    /// Safe while another process writes or consolidates the store: the reader shares the
    /// consolidation lock, and a part that a first consolidation removed mid-read (before that
    /// lock existed) makes it read again.
    pub fn load(&self) -> Result<Vec<TrialRecord>> {
        Ok(self.read(Curves::Parse, false)?.records)
    }

    /// As [`Store::load`], verifying the curves but not reading them (every record's `curves`
    /// is empty): for readers of the trials table alone.
    pub fn load_trials(&self) -> Result<Vec<TrialRecord>> {
        Ok(self.read(Curves::Verify, false)?.records)
    }

    /// As [`Store::load`], but a `curves.parquet` lost beside `trials.parquet` reads as no
    /// curves: for `run`, which recomputes the trials that record curves (see
    /// [`Store::curves_missing`]).
    pub(crate) fn load_for_run(&self) -> Result<Vec<TrialRecord>> {
        Ok(self.read(Curves::Parse, true)?.records)
    }

    /// Part files of finished trials that are not consolidated yet: a run in progress, or one
    /// that was stopped (their trials are in what [`Store::load`] returns).
    pub fn unconsolidated_parts(&self) -> usize {
        self.part_files().map_or(0, |p| p.len())
    }

    /// Whether anything was ever stored: a trials file or parts of one.
    pub fn has_trials(&self) -> bool {
        self.dir.join(TRIALS).exists() || self.unconsolidated_parts() > 0
    }

    fn read(&self, curves: Curves, lost_curves_ok: bool) -> Result<Snapshot> {
        let lock = File::open(self.dir.join(CONSOLIDATE_LOCK)).ok();
        if let Some(lock) = &lock {
            let path = self.dir.join(CONSOLIDATE_LOCK);
            lock.lock_shared()
                .map_err(|e| HarnessError::store(&path, e))?;
        }
        self.read_unlocked(curves, lost_curves_ok)
    }

    /// Main files plus parts, read again when a part vanished mid-read (a first consolidation,
    /// which no lock excluded, folded it into the main file meanwhile).
    fn read_unlocked(&self, curves: Curves, lost_curves_ok: bool) -> Result<Snapshot> {
        let mut attempt = 0;
        loop {
            match self.try_read(curves, lost_curves_ok) {
                Ok(loaded) => return Ok(loaded),
                Err((_, true)) if attempt < 20 => attempt += 1,
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// The error, and whether one of the parts it was reading is gone.
    fn try_read(
        &self,
        curves: Curves,
        lost_curves_ok: bool,
    ) -> std::result::Result<Snapshot, (HarnessError, bool)> {
        let fatal = |e| (e, false);
        let sums_path = self.dir.join(CHECKSUMS);
        let sums = Checksums::read(&sums_path).map_err(|why| {
            fatal(self.damaged(&sums_path, &format!("damaged: {why}"), Role::Checksums))
        })?;
        let mut main = BTreeMap::new();
        let mut file = |name: &str, role| {
            let found = self.read_verified(sums.as_ref(), &self.dir, name, role);
            if let Ok(found) = &found {
                main.insert(name.to_string(), found.as_ref().map(|(_, h)| h.clone()));
            }
            found
        };
        let trials = file(TRIALS, Role::Trials).map_err(fatal)?;
        let curves_file = file(CURVES, Role::Curves).map_err(fatal)?;
        file(TRIALS_CSV, Role::Csv).map_err(fatal)?;
        let mut all = Vec::new();
        if let Some((bytes, trials_hash)) = trials {
            let key = ParsedKey {
                trials: trials_hash,
                curves: curves_file.as_ref().map(|(_, h)| h.clone()),
                parse_curves: curves == Curves::Parse,
            };
            if let Some(records) = parsed(&key) {
                all.extend(records.iter().cloned());
                return self.read_parts(all, main, curves);
            }
            let curves_path = self.dir.join(CURVES);
            let curve_map = match (curves_file, curves) {
                (Some((bytes, _)), Curves::Parse) => parse_curves(&bytes, &curves_path)
                    .map_err(|e| fatal(self.unreadable(&curves_path, e, Role::Curves)))?,
                (Some(_), Curves::Verify) => CurveMap::new(),
                (None, _) if lost_curves_ok => CurveMap::new(),
                (None, _) => {
                    return Err(fatal(self.missing(
                        &curves_path,
                        Role::Curves,
                        "is missing: the curves of the trials in trials.parquet are lost (it is always written beside it)",
                    )))
                }
            };
            let path = self.dir.join(TRIALS);
            let records = parse_trials(&bytes, &path, &curve_map)
                .map_err(|e| fatal(self.unreadable(&path, e, Role::Trials)))?;
            remember_parsed(key, &records);
            all.extend(records);
        }
        self.read_parts(all, main, curves)
    }

    /// The parts, after the main files: see [`Store::try_read`].
    fn read_parts(
        &self,
        mut all: Vec<TrialRecord>,
        main: BTreeMap<String, Option<String>>,
        curves: Curves,
    ) -> std::result::Result<Snapshot, (HarnessError, bool)> {
        let fatal = |e| (e, false);
        let parts = self.part_files().map_err(fatal)?;
        for part in &parts {
            // Gone since it was listed: a consolidation folded it into the main file.
            let vanished = |e| {
                let gone = !part.exists();
                (e, gone)
            };
            let sums_path = part_checksums_path(part);
            let sums = Checksums::read(&sums_path).map_err(|why| {
                vanished(self.damaged(&sums_path, &format!("damaged: {why}"), Role::Part))
            })?;
            let folder = part.parent().unwrap_or(&self.dir);
            let name = |p: &Path| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            let Some((bytes, _)) = self
                .read_verified(sums.as_ref(), folder, &name(part), Role::Part)
                .map_err(vanished)?
            else {
                return Err((HarnessError::store(part, "vanished while read"), true));
            };
            let curves_path = part_curves_path(part);
            let curve_map = match self
                .read_verified(sums.as_ref(), folder, &name(&curves_path), Role::Part)
                .map_err(vanished)?
            {
                Some((bytes, _)) if curves == Curves::Parse => parse_curves(&bytes, &curves_path)
                    .map_err(|e| vanished(self.unreadable(&curves_path, e, Role::Part)))?,
                Some(_) => CurveMap::new(),
                None => {
                    return Err(vanished(self.damaged(
                        &curves_path,
                        &format!(
                            "is missing: the curves of the trials in {} are lost (it is always written before them)",
                            part.display()
                        ),
                        Role::Part,
                    )))
                }
            };
            all.extend(
                parse_trials(&bytes, part, &curve_map)
                    .map_err(|e| vanished(self.unreadable(part, e, Role::Part)))?,
            );
        }
        Ok(Snapshot {
            // The main file alone is deduplicated and in order already: consolidation wrote it.
            records: if parts.is_empty() {
                all
            } else {
                deduplicate(all)
            },
            parts,
            main,
        })
    }

    /// The bytes of `folder/name` and their blake3, verified against `sums`; `None` when the
    /// file is absent (and allowed to be).
    fn read_verified(
        &self,
        sums: Option<&Checksums>,
        folder: &Path,
        name: &str,
        role: Role,
    ) -> Result<Option<(Vec<u8>, String)>> {
        let path = folder.join(name);
        let bytes = match fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(HarnessError::store(&path, e)),
        };
        let hash = bytes.as_deref().map(checksums::hash);
        match sums.map(|s| s.verdict(name, hash.as_deref())) {
            Some(Verdict::Mismatch(_)) => Err(self.damaged(
                &path,
                "damaged: its blake3 checksum is not the one recorded when it was written (bit rot, or a truncated or edited copy)",
                role,
            )),
            Some(Verdict::Missing) => Err(self.missing(
                &path,
                role,
                "is missing, while the store's checksums record it",
            )),
            _ => Ok(bytes.zip(hash)),
        }
    }

    /// A file that cannot be parsed (a store written before checksums existed, or one whose
    /// checksums were written over a damaged file) is damaged too.
    fn unreadable(&self, path: &Path, e: HarnessError, role: Role) -> HarnessError {
        let why = match e {
            HarnessError::Store { message, .. } => message,
            other => other.to_string(),
        };
        self.damaged(
            path,
            &format!("damaged: it cannot be read ({})", one_line(&why)),
            role,
        )
    }

    /// The error for a damaged file: what is wrong, and the way out.
    fn damaged(&self, path: &Path, what: &str, role: Role) -> HarnessError {
        let again = self.again();
        let way_out = match role {
            Role::Trials => format!(
                "{CSV_CANNOT_RESTORE}; {again} with --force to recompute its trials (the damaged file is kept aside under {DAMAGED_DIR}/)"
            ),
            Role::Csv => {
                format!("{again}: the damaged file is set aside and written again from trials.parquet")
            }
            Role::Curves => format!(
                "{again}: the damaged file is set aside and the trials that record curves are recomputed"
            ),
            Role::Part => {
                format!("{again}: the damaged part is set aside under {DAMAGED_DIR}/ and its trials are recomputed")
            }
            Role::Checksums => format!(
                "nothing tells whether the files it vouches for are intact: {again} with --force to recompute every trial (the store's files are set aside under {DAMAGED_DIR}/), or delete it if you know them to be good"
            ),
        };
        HarnessError::Damaged {
            path: path.to_path_buf(),
            message: format!("{what}; {way_out}"),
        }
    }

    /// The error for a file the checksums record that is gone.
    fn missing(&self, path: &Path, role: Role, what: &str) -> HarnessError {
        let then = match role {
            Role::Curves => "the trials that record curves are recomputed",
            Role::Csv => "it is written again from trials.parquet",
            _ => "what it held is computed again",
        };
        HarnessError::Damaged {
            path: path.to_path_buf(),
            message: format!("{what}; {}: {then}", self.again()),
        }
    }

    /// How to run this store's spec again.
    fn again(&self) -> String {
        match self.shard() {
            Some((index, count)) => {
                format!("run this shard again (`subbench run SPEC --shard {index}/{count}`)")
            }
            None => "run the spec again (`subbench run SPEC`)".to_string(),
        }
    }

    /// (index, count) when this store is a shard.
    fn shard(&self) -> Option<(u32, u32)> {
        self.shard_root()?;
        parse_shard_name(self.dir.file_name()?.to_str()?)
    }

    /// Before `run` reads the store: every damaged file it can do without is moved aside under
    /// `damaged/` and named in the returned warnings, so that the run recomputes what it held
    /// (a part, the curves) or rewrites it (trials.csv). A damaged `trials.parquet` or
    /// `checksums.json` is refused unless `force` asks to recompute everything, which then sets
    /// them aside as well: `run --force` is the way out of any damage.
    pub(crate) fn set_aside_damaged(&self, force: bool) -> Result<Vec<String>> {
        if !self.dir.exists() {
            return Ok(Vec::new());
        }
        let lock_path = self.dir.join(CONSOLIDATE_LOCK);
        let lock = File::create(&lock_path).map_err(|e| HarnessError::store(&lock_path, e))?;
        lock.lock()
            .map_err(|e| HarnessError::store(&lock_path, e))?;
        let mut warnings = Vec::new();
        let sums_path = self.dir.join(CHECKSUMS);
        let mut sums = match Checksums::read(&sums_path) {
            Ok(sums) => sums,
            Err(why) => {
                if !force {
                    return Err(self.damaged(
                        &sums_path,
                        &format!("damaged: {why}"),
                        Role::Checksums,
                    ));
                }
                for name in [CHECKSUMS, TRIALS, CURVES, TRIALS_CSV] {
                    let path = self.dir.join(name);
                    if path.exists() {
                        let aside = self.set_aside(&path)?;
                        warnings.push(format!(
                            "{}: {} is damaged ({why}), so nothing vouches for the files beside it: kept aside as {}; --force recomputes every trial",
                            path.display(),
                            CHECKSUMS,
                            aside.display()
                        ));
                    }
                }
                None
            }
        };
        let mut changed = false;
        for (name, role) in [
            (TRIALS, Role::Trials),
            (CURVES, Role::Curves),
            (TRIALS_CSV, Role::Csv),
        ] {
            let path = self.dir.join(name);
            let damage = match self.read_verified(sums.as_ref(), &self.dir, name, role) {
                Err(HarnessError::Damaged { message, .. }) => Some(message),
                Err(other) => return Err(other),
                // Unverified (a store written before checksums existed): parsed instead.
                Ok(Some((bytes, _)))
                    if role != Role::Csv
                        && sums
                            .as_ref()
                            .is_none_or(|s| s.verdict(name, None) == Verdict::Unlisted) =>
                {
                    let parsed = if role == Role::Trials {
                        parse_trials(&bytes, &path, &CurveMap::new()).map(|_| ())
                    } else {
                        parse_curves(&bytes, &path).map(|_| ())
                    };
                    parsed
                        .err()
                        .map(|e| self.unreadable(&path, e, role).to_string())
                }
                Ok(_) => None,
            };
            let Some(message) = damage else { continue };
            if !path.exists() {
                // Lost: its trials are not stored, so they run again (the curves: see
                // `curves_missing`); the checksums stop expecting it.
                if let Some(sums) = sums.as_mut() {
                    sums.forget(name);
                    changed = true;
                }
                warnings.push(format!(
                    "{}: missing, while the store's checksums record it: what it held is computed again",
                    path.display()
                ));
                continue;
            }
            if role == Role::Trials && !force {
                return Err(HarnessError::Damaged {
                    path: path.clone(),
                    message,
                });
            }
            let aside = self.set_aside(&path)?;
            if let Some(sums) = sums.as_mut() {
                sums.forget(name);
                changed = true;
            }
            let then = match role {
                Role::Trials => "--force recomputes its trials",
                Role::Curves => "the trials that record curves are recomputed",
                _ => "it is written again from trials.parquet",
            };
            warnings.push(format!(
                "{}: damaged (its checksum is not the one recorded when it was written, or it does not parse): kept aside as {}; {then}",
                path.display(),
                aside.display()
            ));
        }
        if changed {
            if let Some(sums) = &sums {
                sums.write(&sums_path)?;
            }
        }
        for part in self.part_files()? {
            let damaged = match self.try_read_part(&part) {
                Ok(()) => continue,
                Err(HarnessError::Damaged { message, .. }) => message,
                Err(other) => return Err(other),
            };
            let mut kept = Vec::new();
            for path in [
                part.clone(),
                part_curves_path(&part),
                part_checksums_path(&part),
            ] {
                if path.exists() {
                    kept.push(self.set_aside(&path)?.display().to_string());
                }
            }
            let why = damaged.split("; ").next().unwrap_or_default().to_string();
            warnings.push(format!(
                "{}: {why}: the part is kept aside as {}; its trials run again",
                part.display(),
                kept.join(", ")
            ));
        }
        drop(lock);
        Ok(warnings)
    }

    /// Verify and parse one part, as [`Store::load`] does.
    fn try_read_part(&self, part: &Path) -> Result<()> {
        let sums_path = part_checksums_path(part);
        let sums = Checksums::read(&sums_path)
            .map_err(|why| self.damaged(&sums_path, &format!("damaged: {why}"), Role::Part))?;
        let folder = part.parent().unwrap_or(&self.dir);
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let curves_path = part_curves_path(part);
        match self.read_verified(sums.as_ref(), folder, &name(&curves_path), Role::Part)? {
            Some((bytes, _)) => {
                parse_curves(&bytes, &curves_path)
                    .map_err(|e| self.unreadable(&curves_path, e, Role::Part))?;
            }
            None => {
                return Err(self.damaged(&curves_path, "is missing", Role::Part));
            }
        }
        if let Some((bytes, _)) =
            self.read_verified(sums.as_ref(), folder, &name(part), Role::Part)?
        {
            parse_trials(&bytes, part, &CurveMap::new())
                .map_err(|e| self.unreadable(part, e, Role::Part))?;
        }
        Ok(())
    }

    /// Move a damaged file under `damaged/`, with the time in its name; returns where it went.
    fn set_aside(&self, path: &Path) -> Result<PathBuf> {
        let folder = self.dir.join(DAMAGED_DIR);
        fs::create_dir_all(&folder).map_err(|e| HarnessError::store(&folder, e))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let aside = folder.join(format!("{stamp}-{name}"));
        fs::rename(path, &aside).map_err(|e| HarnessError::store(path, e))?;
        Ok(aside)
    }

    /// Committed part files, oldest first (names start with a timestamp).
    fn part_files(&self) -> Result<Vec<PathBuf>> {
        let dir = self.dir.join(PARTS);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut parts: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|e| HarnessError::store(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(PART_TRIALS))
            .collect();
        parts.sort();
        Ok(parts)
    }

    /// Create the folder, prove it is writable, and take the store's writer lock. Errors are the
    /// user's to fix (a read-only or full disk, another run in progress), so they are usage errors.
    ///
    /// A shard's lock is also taken, briefly, by `merge` and `status` (while the spec's merge lock
    /// is held); a shard writer that meets them waits for them and tries again, so that a task
    /// starting during a merge runs instead of failing. The merge may have removed the folder
    /// meanwhile (it folded a finished slice): it is created again and the run resumes from the
    /// merged store.
    pub fn lock_for_writing(&self) -> Result<File> {
        let (mut attempts, mut retried_without_merge) = (0, false);
        loop {
            let refused = match self.try_lock_for_writing() {
                Ok(lock) => return Ok(lock),
                Err(refused) => refused,
            };
            let Some(root) = self.shard_root() else {
                return Err(refused);
            };
            attempts += 1;
            if attempts > 100 {
                return Err(refused);
            }
            // No merge now: it may have ended between our attempt and this look, so one more
            // attempt; a lock still held then is another writer's.
            if !wait_for_merge(&root) {
                if retried_without_merge {
                    return Err(refused);
                }
                retried_without_merge = true;
            }
        }
    }

    fn try_lock_for_writing(&self) -> Result<File> {
        let usage = |what: String| HarnessError::Usage(format!("{}: {what}", self.dir.display()));
        fs::create_dir_all(&self.dir)
            .map_err(|e| usage(format!("cannot create the results folder: {e}")))?;
        let probe = self.dir.join(format!(".write-test-{}", std::process::id()));
        fs::write(&probe, b"subbench").map_err(|e| {
            usage(format!(
                "cannot write to the results folder: {e}; choose another --out"
            ))
        })?;
        let _ = fs::remove_file(&probe);
        let path = self.dir.join(WRITER_LOCK);
        let lock = File::create(&path)
            .map_err(|e| usage(format!("cannot create {}: {e}", path.display())))?;
        match lock.try_lock() {
            Ok(()) => Ok(lock),
            Err(std::fs::TryLockError::WouldBlock) => Err(usage(
                "another subbench process is running this spec into this folder; wait for it to finish, or use another --out".into(),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(usage(format!("cannot lock {}: {e}", path.display()))),
        }
    }

    /// The spec's folder when this store is a shard (`<root>/shards/III-of-NNN`), with the
    /// shard's index and count.
    pub fn shard_root(&self) -> Option<PathBuf> {
        parse_shard_name(self.dir.file_name()?.to_str()?)?;
        let shards = self.dir.parent()?;
        if shards.file_name()? != SHARDS {
            return None;
        }
        shards.parent().map(Path::to_path_buf)
    }

    /// Record what this shard's writer is doing (see [`ShardInfo`]); atomic.
    pub fn write_shard_info(&self, info: &ShardInfo) -> Result<()> {
        let value = serde_json::to_value(info).map_err(|e| HarnessError::store(&self.dir, e))?;
        write_json(&self.dir.join(SHARD_INFO), &value)
    }

    /// Persist a batch of finished trials now (one part: its checksums, its curves, then its
    /// trials, each atomically; the trials file is the commit point).
    pub fn append(&self, batch: &[TrialRecord]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let dir = self.dir.join(PARTS);
        fs::create_dir_all(&dir).map_err(|e| HarnessError::store(&dir, e))?;
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let stem = format!(
            "{nanos:024}-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        let (curves_name, trials_name) = (
            format!("{stem}{PART_CURVES}"),
            format!("{stem}{PART_TRIALS}"),
        );
        let curves = parquet_bytes(&mut curves_frame(batch)?, true, &dir.join(&curves_name))?;
        let trials = parquet_bytes(&mut trials_frame(batch)?, true, &dir.join(&trials_name))?;
        let mut sums = Checksums::new();
        sums.set(&curves_name, checksums::hash(&curves));
        sums.set(&trials_name, checksums::hash(&trials));
        // Checksums and curves first: the trials part is the commit point, so a reader never
        // sees trials whose curves or checksums are missing.
        sums.write(&dir.join(format!("{stem}{PART_CHECKSUMS}")))?;
        write_bytes(&dir.join(&curves_name), &curves)?;
        write_bytes(&dir.join(&trials_name), &trials)
    }

    /// `trials.parquet` is there but `curves.parquet`, which consolidation always writes beside
    /// it, is not: the curves of its trials are lost (a deleted or damaged file), not empty.
    pub fn curves_missing(&self) -> bool {
        self.dir.join(TRIALS).exists() && !self.dir.join(CURVES).exists()
    }

    /// Fold the parts into `trials.parquet`, `trials.csv` and `curves.parquet`; returns every
    /// stored trial. Safe against concurrent writers (exclusive lock) and kills (atomic renames;
    /// parts are removed only after the main files that contain them are in place).
    pub fn consolidate(&self) -> Result<Vec<TrialRecord>> {
        self.consolidate_with(false)
    }

    /// As [`Store::consolidate`], at the end of a run that recomputed the trials whose curves
    /// were lost (see [`Store::curves_missing`]).
    pub(crate) fn consolidate_after_run(&self) -> Result<Vec<TrialRecord>> {
        self.consolidate_with(true)
    }

    fn consolidate_with(&self, lost_curves_ok: bool) -> Result<Vec<TrialRecord>> {
        fs::create_dir_all(&self.dir).map_err(|e| HarnessError::store(&self.dir, e))?;
        let lock_path = self.dir.join(CONSOLIDATE_LOCK);
        let lock = File::create(&lock_path).map_err(|e| HarnessError::store(&lock_path, e))?;
        lock.lock()
            .map_err(|e| HarnessError::store(&lock_path, e))?;
        let snapshot = self.read_unlocked(Curves::Parse, lost_curves_ok)?;
        self.write_all(&snapshot.records, &snapshot.main)?;
        // The trials part first: it is the commit point, so a reader never finds a trials part
        // whose curves or checksums are gone (those alone are orphans, removed later).
        for part in snapshot.parts {
            let _ = fs::remove_file(&part);
            let _ = fs::remove_file(part_curves_path(&part));
            let _ = fs::remove_file(part_checksums_path(&part));
        }
        self.remove_orphans();
        drop(lock);
        Ok(snapshot.records)
    }

    /// Replace the main files, one atomic rename each, and their checksums: first both the
    /// versions on disk (`on_disk`, as verified) and the new ones are accepted, so that a kill
    /// between two renames leaves a store that still verifies; then only the new ones.
    fn write_all(
        &self,
        records: &[TrialRecord],
        on_disk: &BTreeMap<String, Option<String>>,
    ) -> Result<()> {
        let mut trials = trials_frame(records)?;
        let files = [
            (
                CURVES,
                parquet_bytes(&mut curves_frame(records)?, false, &self.dir.join(CURVES))?,
            ),
            (
                TRIALS,
                parquet_bytes(&mut trials, false, &self.dir.join(TRIALS))?,
            ),
            (
                TRIALS_CSV,
                csv_bytes(&mut trials, &self.dir.join(TRIALS_CSV))?,
            ),
        ];
        let (mut both, mut new) = (Checksums::new(), Checksums::new());
        for (name, bytes) in &files {
            let hash = checksums::hash(bytes);
            let old = on_disk.get(*name).cloned().flatten();
            both.allow(name, vec![old, Some(hash.clone())]);
            new.set(name, hash);
        }
        let sums = self.dir.join(CHECKSUMS);
        both.write(&sums)?;
        for (name, bytes) in &files {
            write_bytes(&self.dir.join(name), bytes)?;
        }
        new.write(&sums)
    }

    /// Temporary files of writers that were killed mid-write, and curves or checksums of parts
    /// whose trials part never landed. Only files older than a minute are touched: younger ones
    /// may belong to a writer that is still running.
    fn remove_orphans(&self) {
        let dir = self.dir.join(PARTS);
        let Ok(entries) = fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.to_string_lossy().to_string();
            let orphan = [PART_CURVES, PART_CHECKSUMS].iter().any(|suffix| {
                name.ends_with(suffix)
                    && !PathBuf::from(format!(
                        "{}{PART_TRIALS}",
                        name.strip_suffix(suffix).unwrap_or_default()
                    ))
                    .exists()
            });
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| t.elapsed().map(|d| d.as_secs() > 60).unwrap_or(false))
                .unwrap_or(false);
            if stale && (name.contains(".tmp-") || orphan) {
                let _ = fs::remove_file(&path);
            }
        }
        let _ = fs::remove_dir(&dir); // only succeeds when empty
    }
}

/// What a shard's writer says about its slice, in `shards/III-of-NNN/shard.json`: written with
/// `complete: false` as soon as the run holds the shard's writer lock, and with `complete: true`
/// once every trial of the slice is stored (after its last part is consolidated, the spec copied
/// and the run's provenance written), still under that lock.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardInfo {
    pub spec: String,
    pub spec_hash: String,
    pub index: u32,
    pub count: u32,
    /// Repetitions per point (the spec's `seeds`, or `--seeds`).
    pub seeds: u32,
    /// Trials in this shard's slice, and in the whole sweep.
    pub slice_trials: usize,
    pub sweep_trials: usize,
    pub complete: bool,
}

/// Where one shard of a cluster run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardState {
    /// Folded into the spec's store (its folder is gone).
    Merged,
    /// Its writer finished the whole slice; the next merge folds it.
    Done,
    /// Its writer holds the shard's lock.
    Running,
    /// Not running and not finished: killed, cancelled, out of disk, or stopped by --fail-fast.
    Incomplete,
    /// No folder and no earlier merge: never started.
    Missing,
}

impl ShardState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardState::Merged => "merged",
            ShardState::Done => "done",
            ShardState::Running => "running",
            ShardState::Incomplete => "incomplete",
            ShardState::Missing => "missing",
        }
    }
}

/// One shard in a [`ClusterReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct ShardReport {
    pub index: u32,
    pub state: ShardState,
    /// Trials of this slice that are stored: in the shard's folder, or in the spec's store once
    /// merged.
    pub stored: usize,
    /// Trials in the slice, when known (from `shard.json` or an earlier merge).
    pub expected: Option<usize>,
}

/// The state of a cluster run: what [`merge`] did and what [`cluster_status`] sees.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterReport {
    pub dir: PathBuf,
    /// Shards in the sweep; 0 when the store has never had shards (a one-process run).
    pub count: u32,
    /// Trials in the whole sweep, when known.
    pub sweep_trials: Option<usize>,
    /// One entry per shard, 1 to `count`.
    pub shards: Vec<ShardReport>,
    /// Trials in the spec's own store.
    pub merged_trials: usize,
    /// The shards this call folded.
    pub folded: Vec<u32>,
    /// What the user must be told (e.g. a provenance file kept aside).
    pub warnings: Vec<String>,
}

impl ClusterReport {
    /// Every shard of the sweep is merged: the spec's store is the whole sweep.
    pub fn is_whole(&self) -> bool {
        self.count > 0 && self.shards.iter().all(|s| s.state == ShardState::Merged)
    }

    /// `III-of-NNN` of the shards in `state`.
    pub fn names(&self, state: ShardState) -> Vec<String> {
        self.shards
            .iter()
            .filter(|s| s.state == state)
            .map(|s| shard_name(s.index, self.count))
            .collect()
    }
}

/// The folder name of shard `index` of `count`.
pub fn shard_name(index: u32, count: u32) -> String {
    format!("{index:03}-of-{count:03}")
}

/// `III-of-NNN` → (index, count), with 1 ≤ index ≤ count.
fn parse_shard_name(name: &str) -> Option<(u32, u32)> {
    let (i, n) = name.split_once("-of-")?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(i) || !digits(n) {
        return None;
    }
    let (index, count) = (i.parse().ok()?, n.parse().ok()?);
    (1..=count).contains(&index).then_some((index, count))
}

/// Which shard of `count` a trial id belongs to (0-based; the runner's split, see
/// `Trial::shard`).
fn slice_of(trial_id: &str, count: u32) -> Option<u32> {
    u64::from_str_radix(trial_id, 16)
        .ok()
        .map(|id| (id % u64::from(count)) as u32)
}

/// When a merge or status holds `root`'s merge lock, wait until it is done and say so; `false`
/// when none does (or the store has no merge lock yet).
fn wait_for_merge(root: &Path) -> bool {
    let Ok(lock) = File::open(root.join(MERGE_LOCK)) else {
        return false;
    };
    match lock.try_lock_shared() {
        Ok(()) => false,
        Err(_) => {
            let _ = lock.lock_shared();
            true
        }
    }
}

/// Whether a shard's writer is running; when not, the shard's lock, held by the caller.
enum Writer {
    Running,
    Free(Option<File>),
}

fn probe_writer(shard: &Path, create: bool) -> Result<Writer> {
    let path = shard.join(WRITER_LOCK);
    let file = if create {
        File::create(&path)
    } else {
        match File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Writer::Free(None)),
            other => other,
        }
    }
    .map_err(|e| HarnessError::store(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Writer::Free(Some(file))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(Writer::Running),
        Err(std::fs::TryLockError::Error(e)) => Err(HarnessError::store(&path, e)),
    }
}

/// The identity of a sweep: shards of different identities never make one whole.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sweep {
    count: u32,
    spec_hash: String,
    seeds: u32,
    sweep_trials: usize,
}

impl Sweep {
    fn of(info: &ShardInfo) -> Sweep {
        Sweep {
            count: info.count,
            spec_hash: info.spec_hash.clone(),
            seeds: info.seeds,
            sweep_trials: info.sweep_trials,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "shards": self.count,
            "spec_hash": self.spec_hash,
            "seeds": self.seeds,
            "sweep_trials": self.sweep_trials,
        })
    }
}

/// An earlier merge, as recorded in `provenance.json`.
struct PastMerge {
    sweep: Sweep,
    folded: BTreeMap<u32, usize>,
}

fn past_merges(dir: &Path) -> Vec<PastMerge> {
    crate::provenance::merge_entries(dir)
        .into_iter()
        .filter_map(|m| {
            let sweep = Sweep {
                count: u32::try_from(m.get("shards")?.as_u64()?).ok()?,
                spec_hash: m.get("spec_hash")?.as_str()?.to_string(),
                seeds: u32::try_from(m.get("seeds")?.as_u64()?).ok()?,
                sweep_trials: usize::try_from(m.get("sweep_trials")?.as_u64()?).ok()?,
            };
            let folded = m
                .get("folded")?
                .as_object()?
                .iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, usize::try_from(v.as_u64()?).ok()?)))
                .collect();
            Some(PastMerge { sweep, folded })
        })
        .collect()
}

/// A shard folder present under `shards/`.
struct PresentShard {
    index: u32,
    count: u32,
    dir: PathBuf,
    info: Option<ShardInfo>,
}

/// Refuse what is not a spec's store, and shards that cannot belong to one sweep; nothing is
/// touched before these checks pass.
fn present_shards(dir: &Path) -> Result<Vec<PresentShard>> {
    let usage = |what: String| HarnessError::Usage(format!("{}: {what}", dir.display()));
    if !dir.is_dir() {
        return Err(usage("no such results folder".into()));
    }
    let is_store = [
        TRIALS,
        PARTS,
        SHARDS,
        schema::SPEC_FILE,
        schema::PROVENANCE_FILE,
    ]
    .iter()
    .any(|f| dir.join(f).exists());
    if !is_store {
        return Err(usage(
            "not a result store (it has no trials.parquet, spec.yaml or shards/); give one spec's folder, e.g. results/NAME".into(),
        ));
    }
    let shards_dir = dir.join(SHARDS);
    if !shards_dir.exists() {
        return Ok(Vec::new());
    }
    let mut shards = Vec::new();
    let entries = fs::read_dir(&shards_dir).map_err(|e| HarnessError::store(&shards_dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        // A folded shard a merge renamed aside and was interrupted before deleting: its
        // trials are in the merged store already.
        if !path.is_dir() || name.starts_with(".removing-") {
            continue;
        }
        let Some((index, count)) = parse_shard_name(&name) else {
            return Err(HarnessError::Usage(format!(
                "{}: not a shard folder (shard folders are named III-of-NNN, as `subbench run --shard I/N` writes them); move it out of shards/",
                path.display()
            )));
        };
        let info = fs::read_to_string(path.join(SHARD_INFO))
            .ok()
            .and_then(|t| serde_json::from_str::<ShardInfo>(&t).ok());
        if let Some(info) = &info {
            if (info.index, info.count) != (index, count) {
                return Err(HarnessError::Usage(format!(
                    "{}: its shard.json is for shard {} of {}, not {index} of {count}; it was moved or renamed",
                    path.display(),
                    info.index,
                    info.count
                )));
            }
        }
        shards.push(PresentShard {
            index,
            count,
            dir: path,
            info,
        });
    }
    shards.sort_by_key(|s| (s.count, s.index));
    let counts: BTreeSet<u32> = shards.iter().map(|s| s.count).collect();
    if counts.len() > 1 {
        let examples: Vec<String> = counts
            .iter()
            .filter_map(|c| shards.iter().find(|s| s.count == *c))
            .map(|s| shard_name(s.index, s.count))
            .collect();
        return Err(HarnessError::Usage(format!(
            "{}: holds shards of different shard counts ({}); they cannot be one sweep: move one set out of shards/",
            shards_dir.display(),
            examples.join(", ")
        )));
    }
    let with_info: Vec<(&PresentShard, &ShardInfo)> = shards
        .iter()
        .filter_map(|s| s.info.as_ref().map(|i| (s, i)))
        .collect();
    if let Some((first, first_info)) = with_info.first() {
        for (other, info) in &with_info[1..] {
            let what = if info.spec_hash != first_info.spec_hash {
                "different specs (the spec file changed between them)"
            } else if info.seeds != first_info.seeds || info.sweep_trials != first_info.sweep_trials
            {
                "different --seeds"
            } else {
                continue;
            };
            return Err(HarnessError::Usage(format!(
                "{}: shards {} and {} ran {what}; rerun the shards of the old spec, or move them out of shards/",
                shards_dir.display(),
                shard_name(first.index, first.count),
                shard_name(other.index, other.count)
            )));
        }
    }
    Ok(shards)
}

/// Fold every finished shard under `dir/shards/` into the store at `dir`, with its provenance and
/// the spec, and remove its folder. A shard whose writer is running, or that has not finished its
/// slice, is neither folded nor touched. Two merges of one store take turns.
pub fn merge(dir: &Path, build: &crate::provenance::BuildInfo) -> Result<ClusterReport> {
    survey(dir, Some(build))
}

/// The state of a cluster run without changing anything.
pub fn cluster_status(dir: &Path) -> Result<ClusterReport> {
    survey(dir, None)
}

fn survey(dir: &Path, fold: Option<&crate::provenance::BuildInfo>) -> Result<ClusterReport> {
    let started = std::time::SystemTime::now();
    let mut warnings = Vec::new();
    present_shards(dir)?;
    // Serialize merges (and keep a merge from removing a shard while `status` reads it). A
    // read-only store can still be looked at, without the lock.
    let lock_path = dir.join(MERGE_LOCK);
    let merge_lock = match File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
    {
        Ok(lock) => {
            lock.lock()
                .map_err(|e| HarnessError::store(&lock_path, e))?;
            Some(lock)
        }
        Err(e) if fold.is_some() => return Err(HarnessError::store(&lock_path, e)),
        Err(_) => None,
    };
    // Again under the lock: an earlier merge may have removed shards meanwhile.
    let shards = present_shards(dir)?;
    let past = past_merges(dir);
    let sweep = shards
        .iter()
        .filter_map(|s| s.info.as_ref())
        .max_by_key(|i| i.complete)
        .map(Sweep::of)
        .or_else(|| past.last().map(|m| m.sweep.clone()));
    let Some(sweep) = sweep else {
        if fold.is_some() || !shards.is_empty() {
            return Err(HarnessError::Usage(format!(
                "{}: nothing to merge: no shard under shards/ has started, and no shards were merged before (run the spec with --shard I/N first)",
                dir.display()
            )));
        }
        return Ok(ClusterReport {
            dir: dir.to_path_buf(),
            count: 0,
            sweep_trials: None,
            shards: Vec::new(),
            merged_trials: Store::at(dir).load()?.len(),
            folded: Vec::new(),
            warnings: Vec::new(),
        });
    };

    let mut states: BTreeMap<u32, (ShardState, usize, Option<usize>)> = BTreeMap::new();
    let mut to_fold: Vec<(&PresentShard, File)> = Vec::new();
    for shard in &shards {
        let expected = shard.info.as_ref().map(|i| i.slice_trials);
        let state = match probe_writer(&shard.dir, fold.is_some())? {
            Writer::Running => ShardState::Running,
            Writer::Free(lock) => {
                // The writer may have finished between listing and locking: read again.
                let info = fs::read_to_string(shard.dir.join(SHARD_INFO))
                    .ok()
                    .and_then(|t| serde_json::from_str::<ShardInfo>(&t).ok());
                match info {
                    Some(info) if info.complete && Sweep::of(&info) == sweep => {
                        if let (Some(lock), Some(_)) = (lock, fold) {
                            to_fold.push((shard, lock));
                        }
                        ShardState::Done
                    }
                    _ => ShardState::Incomplete,
                }
            }
        };
        let stored = Store::at(&shard.dir).load()?.len();
        states.insert(shard.index, (state, stored, expected));
    }

    let main = Store::at(dir);
    let mut folded = Vec::new();
    if let Some(build) = fold {
        if !to_fold.is_empty() {
            let mut batch = Vec::new();
            for (shard, _) in &to_fold {
                batch.extend(Store::at(&shard.dir).load()?);
            }
            main.append(&batch)?;
            main.consolidate()?;
            // The spec, and where its `external:` and file paths are relative to, travel with the
            // store.
            for name in [
                schema::SPEC_FILE,
                crate::spec_external::ORIGIN_FILE,
                schema::WORKDIR_FILE,
            ] {
                let copy = to_fold[0].0.dir.join(name);
                if copy.exists() {
                    let target = dir.join(name);
                    let text = fs::read(&copy).map_err(|e| HarnessError::store(&copy, e))?;
                    write_atomically(&target, |file| {
                        file.write_all(&text)
                            .map_err(|e| HarnessError::store(&target, e))
                    })?;
                }
            }
            let mut shard_runs = Vec::new();
            for (shard, _) in &to_fold {
                for mut run in crate::provenance::run_entries(&shard.dir) {
                    if let Some(object) = run.as_object_mut() {
                        object.insert("shard".into(), shard_name(shard.index, shard.count).into());
                    }
                    shard_runs.push(run);
                }
            }
            let mut entry = sweep.to_json();
            entry["folded"] = to_fold
                .iter()
                .map(|(s, _)| {
                    let slice = s.info.as_ref().map_or(0, |i| i.slice_trials);
                    (s.index.to_string(), serde_json::Value::from(slice))
                })
                .collect::<serde_json::Map<_, _>>()
                .into();
            let spec_name = to_fold[0]
                .0
                .info
                .as_ref()
                .map(|i| i.spec.clone())
                .unwrap_or_default();
            if let Some(w) =
                crate::provenance::record_merge(dir, &spec_name, shard_runs, entry, build, started)?
            {
                warnings.push(w);
            }
            // Only now that the spec's store holds them: the shards' folders go. Each is first
            // renamed aside while its lock is held, atomically: a writer that starts now finds
            // no folder (and makes a fresh one, resuming from the merged store), never one being
            // deleted under it, whose lock file may already be gone.
            for (shard, lock) in to_fold {
                let aside = shard.dir.with_file_name(format!(
                    ".removing-{}-{}",
                    shard_name(shard.index, shard.count),
                    std::process::id()
                ));
                fs::rename(&shard.dir, &aside).map_err(|e| HarnessError::store(&shard.dir, e))?;
                drop(lock);
                fs::remove_dir_all(&aside).map_err(|e| HarnessError::store(&aside, e))?;
                folded.push(shard.index);
                if let Some(s) = states.get_mut(&shard.index) {
                    s.0 = ShardState::Merged;
                }
            }
            let _ = fs::remove_dir(dir.join(SHARDS)); // only when empty
        }
    }

    let merged_records = main.load()?;
    let mut merged_per_slice: HashMap<u32, usize> = HashMap::new();
    for record in &merged_records {
        if let Some(slice) = slice_of(&record.trial_id, sweep.count) {
            *merged_per_slice.entry(slice + 1).or_default() += 1;
        }
    }
    let mut earlier: BTreeMap<u32, usize> = BTreeMap::new();
    for m in past.iter().filter(|m| m.sweep == sweep) {
        earlier.extend(m.folded.iter().map(|(k, v)| (*k, *v)));
    }
    let reports = (1..=sweep.count)
        .map(|index| {
            let in_main = merged_per_slice.get(&index).copied().unwrap_or(0);
            match states.get(&index) {
                Some(&(ShardState::Merged, _, expected)) => ShardReport {
                    index,
                    state: ShardState::Merged,
                    stored: in_main,
                    expected,
                },
                Some(&(state, stored, expected)) => ShardReport {
                    index,
                    state,
                    stored,
                    expected: expected.or_else(|| earlier.get(&index).copied()),
                },
                None => match earlier.get(&index) {
                    Some(&expected) => ShardReport {
                        index,
                        state: ShardState::Merged,
                        stored: in_main,
                        expected: Some(expected),
                    },
                    None => ShardReport {
                        index,
                        state: ShardState::Missing,
                        stored: 0,
                        expected: None,
                    },
                },
            }
        })
        .collect();
    drop(merge_lock);
    Ok(ClusterReport {
        dir: dir.to_path_buf(),
        count: sweep.count,
        sweep_trials: Some(sweep.sweep_trials),
        shards: reports,
        merged_trials: merged_records.len(),
        folded,
        warnings,
    })
}

fn part_curves_path(trials_part: &Path) -> PathBuf {
    PathBuf::from(
        trials_part
            .to_string_lossy()
            .replace(PART_TRIALS, PART_CURVES),
    )
}

fn part_checksums_path(trials_part: &Path) -> PathBuf {
    PathBuf::from(
        trials_part
            .to_string_lossy()
            .replace(PART_TRIALS, PART_CHECKSUMS),
    )
}

/// One row per trial id: the last `ok` row if there is one, else the last row; sorted by order.
fn deduplicate(records: Vec<TrialRecord>) -> Vec<TrialRecord> {
    let mut best: HashMap<String, TrialRecord> = HashMap::new();
    for record in records {
        // Records come oldest first. Under one code identity an ok result is never replaced by
        // a later failure (failures are retried, not cached); a record of another code identity
        // (a stale trial recomputed) replaces whatever the old code produced, failure included,
        // or a failed rerun would hide behind the stale ok row.
        let replace = match best.get(&record.trial_id) {
            None => true,
            Some(old) if old.method_code != record.method_code => true,
            Some(old) => record.status == Status::Ok || old.status != Status::Ok,
        };
        if replace {
            best.insert(record.trial_id.clone(), record);
        }
    }
    let mut out: Vec<TrialRecord> = best.into_values().collect();
    out.sort_by(|a, b| (a.order, &a.trial_id).cmp(&(b.order, &b.trial_id)));
    out
}

fn polars_error(path: &Path) -> impl Fn(PolarsError) -> HarnessError + '_ {
    move |e| HarnessError::store(path, e)
}

fn write_atomically(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let tmp = PathBuf::from(format!("{}.tmp-{}", path.display(), std::process::id()));
    let mut file = File::create(&tmp).map_err(|e| HarnessError::store(&tmp, e))?;
    let written =
        write(&mut file).and_then(|()| file.sync_all().map_err(|e| HarnessError::store(&tmp, e)));
    drop(file);
    if let Err(e) = written {
        // A full disk, say: leave no partial file behind (the destination was never touched).
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(|e| HarnessError::store(path, e))
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |file| {
        file.write_all(bytes)
            .map_err(|e| HarnessError::store(path, e))
    })
}

/// A frame as parquet bytes (`path` is for messages), to be hashed before they are written.
/// Part files (written once per finished batch while trials run, read once at consolidation)
/// skip compression and column statistics: those cost more CPU than the trials of a fast sweep,
/// on the core the trials need. Nothing is written in parallel: the cores belong to the trials.
fn parquet_bytes(df: &mut DataFrame, part: bool, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let writer = ParquetWriter::new(&mut bytes).set_parallel(false);
    let writer = if part {
        writer
            .with_compression(ParquetCompression::Uncompressed)
            .with_statistics(StatisticsOptions::empty())
    } else {
        writer
    };
    writer.finish(df).map_err(polars_error(path))?;
    Ok(bytes)
}

fn csv_bytes(df: &mut DataFrame, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .finish(df)
        .map_err(polars_error(path))?;
    Ok(bytes)
}

/// Write a parquet file atomically (tests).
#[cfg(test)]
fn write_parquet(path: &Path, df: &mut DataFrame, part: bool) -> Result<()> {
    write_bytes(path, &parquet_bytes(df, part, path)?)
}

/// Write `text` to `path` atomically (temporary name, then rename).
pub(crate) fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomically(path, |file| {
        file.write_all(text.as_bytes())
            .map_err(|e| HarnessError::store(path, e))
    })
}

/// Write a JSON document atomically (provenance).
pub(crate) fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    write_atomically(path, |file| {
        serde_json::to_writer_pretty(&mut *file, value)
            .map_err(|e| HarnessError::store(path, e))?;
        file.write_all(b"\n")
            .map_err(|e| HarnessError::store(path, e))
    })
}

/// The storage type of a parameter column: the narrowest that holds every value.
enum ParamColumn {
    Int,
    Float,
    Bool,
    Text,
}

fn param_column_kind<'a>(values: impl Iterator<Item = &'a Value>) -> ParamColumn {
    let mut kinds = BTreeSet::new();
    for v in values {
        kinds.insert(match v {
            Value::Int(_) => 0,
            Value::Float(_) => 1,
            Value::Bool(_) => 2,
            Value::Str(_) | Value::List(_) => 3,
        });
    }
    match kinds.into_iter().collect::<Vec<_>>().as_slice() {
        [0] => ParamColumn::Int,
        [1] | [0, 1] => ParamColumn::Float,
        [2] => ParamColumn::Bool,
        _ => ParamColumn::Text,
    }
}

/// The trials table of `records`, as `trials.parquet` stores it: the columns of
/// [`schema::TRIAL_COLUMNS`], then `p_<param>` (each of the narrowest type that holds every
/// value) and `m_<metric>`. Readers that aggregate with polars build their frame from
/// [`Store::load`] with it, so that they see exactly what is stored, parts included.
pub fn trials_frame(records: &[TrialRecord]) -> Result<DataFrame> {
    let height = records.len();
    let text = |f: &dyn Fn(&TrialRecord) -> &str| records.iter().map(f).collect::<Vec<&str>>();
    let mut columns = vec![
        Column::new(TRIAL_ID.into(), text(&|r| &r.trial_id)),
        Column::new(
            ORDER.into(),
            records.iter().map(|r| r.order).collect::<Vec<u64>>(),
        ),
        Column::new(SPEC.into(), text(&|r| &r.spec)),
        Column::new(METHOD.into(), text(&|r| &r.method)),
        Column::new(METHOD_CODE.into(), text(&|r| &r.method_code)),
        Column::new(
            REP.into(),
            records.iter().map(|r| r.rep).collect::<Vec<u32>>(),
        ),
        Column::new(
            SEED.into(),
            records.iter().map(|r| r.seed).collect::<Vec<u64>>(),
        ),
        Column::new(STATUS.into(), text(&|r| r.status.as_str())),
        Column::new(
            ERROR.into(),
            records
                .iter()
                .map(|r| r.error.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
        Column::new(
            ELAPSED_S.into(),
            records.iter().map(|r| r.elapsed_s).collect::<Vec<f64>>(),
        ),
    ];
    let param_names: BTreeSet<&String> = records.iter().flat_map(|r| r.params.keys()).collect();
    for name in param_names {
        let column_name: PlSmallStr = schema::param_column(name).into();
        let values = || records.iter().map(|r| r.params.get(name));
        columns.push(match param_column_kind(values().flatten()) {
            ParamColumn::Int => Column::new(
                column_name,
                values()
                    .map(|v| {
                        v.and_then(|v| {
                            if let Value::Int(i) = v {
                                Some(*i)
                            } else {
                                None
                            }
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
            ParamColumn::Float => Column::new(
                column_name,
                values()
                    .map(|v| v.and_then(Value::as_f64))
                    .collect::<Vec<_>>(),
            ),
            ParamColumn::Bool => Column::new(
                column_name,
                values()
                    .map(|v| {
                        v.and_then(|v| {
                            if let Value::Bool(b) = v {
                                Some(*b)
                            } else {
                                None
                            }
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
            ParamColumn::Text => Column::new(
                column_name,
                values()
                    .map(|v| {
                        v.map(|v| match v {
                            Value::Str(s) => s.clone(),
                            other => other.canonical(),
                        })
                    })
                    .collect::<Vec<Option<String>>>(),
            ),
        });
    }
    let metric_names: BTreeSet<&String> = records.iter().flat_map(|r| r.metrics.keys()).collect();
    for name in metric_names {
        let values: Vec<Option<f64>> = records
            .iter()
            .map(|r| r.metrics.get(name).copied())
            .collect();
        columns.push(Column::new(schema::metric_column(name).into(), values));
    }
    DataFrame::new(height, columns).map_err(|e| HarnessError::store("trials", e))
}

/// The curves table of `records`, as `curves.parquet` stores it: trial_id, curve, step, value.
pub fn curves_frame(records: &[TrialRecord]) -> Result<DataFrame> {
    let (mut ids, mut names, mut steps, mut values) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in records {
        for (name, points) in &r.curves {
            for &(step, value) in points {
                ids.push(r.trial_id.as_str());
                names.push(name.as_str());
                steps.push(step);
                values.push(value);
            }
        }
    }
    let height = ids.len();
    DataFrame::new(
        height,
        vec![
            Column::new(TRIAL_ID.into(), ids),
            Column::new(CURVE.into(), names),
            Column::new(STEP.into(), steps),
            Column::new(VALUE.into(), values),
        ],
    )
    .map_err(|e| HarnessError::store("curves", e))
}

fn read_frame(bytes: &[u8], path: &Path) -> Result<DataFrame> {
    ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(polars_error(path))
}

type CurveMap = HashMap<String, BTreeMap<String, Vec<(u32, f64)>>>;

fn parse_curves(bytes: &[u8], path: &Path) -> Result<CurveMap> {
    let mut curves: CurveMap = HashMap::new();
    let df = read_frame(bytes, path)?;
    let e = polars_error(path);
    let ids = df.column(TRIAL_ID).and_then(|c| c.str()).map_err(&e)?;
    let names = df.column(CURVE).and_then(|c| c.str()).map_err(&e)?;
    let steps = df.column(STEP).and_then(|c| c.u32()).map_err(&e)?;
    let values = df.column(VALUE).and_then(|c| c.f64()).map_err(&e)?;
    for i in 0..df.height() {
        let (Some(id), Some(name), Some(step), Some(value)) =
            (ids.get(i), names.get(i), steps.get(i), values.get(i))
        else {
            continue;
        };
        curves
            .entry(id.to_string())
            .or_default()
            .entry(name.to_string())
            .or_default()
            .push((step, value));
    }
    Ok(curves)
}

fn parse_trials(bytes: &[u8], path: &Path, curves: &CurveMap) -> Result<Vec<TrialRecord>> {
    let df = read_frame(bytes, path)?;
    let e = polars_error(path);
    let text = |name: &str| df.column(name).and_then(|c| c.str()).map_err(&e);
    let (ids, specs, methods, statuses, errors) = (
        text(TRIAL_ID)?,
        text(SPEC)?,
        text(METHOD)?,
        text(STATUS)?,
        text(ERROR)?,
    );
    // Stores written before code identities have no such column: their trials read as stale.
    let codes = df.column(METHOD_CODE).ok().and_then(|c| c.str().ok());
    let order = df.column(ORDER).and_then(|c| c.u64()).map_err(&e)?;
    let reps = df.column(REP).and_then(|c| c.u32()).map_err(&e)?;
    let seeds = df.column(SEED).and_then(|c| c.u64()).map_err(&e)?;
    let elapsed = df.column(ELAPSED_S).and_then(|c| c.f64()).map_err(&e)?;
    let mut records: Vec<TrialRecord> = (0..df.height())
        .map(|i| TrialRecord {
            trial_id: ids.get(i).unwrap_or_default().to_string(),
            order: order.get(i).unwrap_or_default(),
            spec: specs.get(i).unwrap_or_default().to_string(),
            method: methods.get(i).unwrap_or_default().to_string(),
            method_code: codes.and_then(|c| c.get(i)).unwrap_or_default().to_string(),
            rep: reps.get(i).unwrap_or_default(),
            seed: seeds.get(i).unwrap_or_default(),
            status: statuses
                .get(i)
                .and_then(Status::parse)
                .unwrap_or(Status::Error),
            error: errors.get(i).map(str::to_string),
            elapsed_s: elapsed.get(i).unwrap_or(f64::NAN),
            params: BTreeMap::new(),
            metrics: BTreeMap::new(),
            curves: BTreeMap::new(),
        })
        .collect();
    for column in df.columns() {
        let name = column.name().as_str();
        if let Some(param) = schema::param_of(name) {
            let rows = 0..column.len();
            let values: Vec<Option<Value>> = match column.dtype() {
                DataType::Int64 => {
                    let ca = column.i64().map_err(&e)?;
                    rows.map(|i| ca.get(i).map(Value::Int)).collect()
                }
                DataType::Float64 => {
                    let ca = column.f64().map_err(&e)?;
                    rows.map(|i| ca.get(i).map(Value::Float)).collect()
                }
                DataType::Boolean => {
                    let ca = column.bool().map_err(&e)?;
                    rows.map(|i| ca.get(i).map(Value::Bool)).collect()
                }
                _ => {
                    let ca = column.str().map_err(&e)?;
                    rows.map(|i| {
                        ca.get(i).map(|s| {
                            Value::parse_list(s)
                                .map(Value::List)
                                .unwrap_or_else(|| Value::Str(s.to_string()))
                        })
                    })
                    .collect()
                }
            };
            for (record, value) in records.iter_mut().zip(values) {
                if let Some(value) = value {
                    record.params.insert(param.to_string(), value);
                }
            }
        } else if let Some(metric) = schema::metric_of(name) {
            let ca = column.f64().map_err(&e)?;
            for (i, record) in records.iter_mut().enumerate() {
                let value = ca.get(i);
                if let Some(value) = value {
                    record.metrics.insert(metric.to_string(), value);
                }
            }
        }
    }
    for record in &mut records {
        if let Some(c) = curves.get(&record.trial_id) {
            record.curves = c.clone();
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record(id: &str, order: u64, status: Status, x: f64) -> TrialRecord {
        TrialRecord {
            trial_id: id.into(),
            order,
            spec: "s".into(),
            method: "test.quadratic".into(),
            method_code: "c0de".into(),
            rep: 0,
            seed: 42,
            status,
            error: (status != Status::Ok).then(|| "boom".to_string()),
            elapsed_s: 0.5,
            params: BTreeMap::from([
                ("x".to_string(), Value::Float(x)),
                ("k".to_string(), Value::Int(3)),
                ("flag".to_string(), Value::Bool(true)),
                ("mode".to_string(), Value::Str("a".into())),
                ("spectrum".to_string(), Value::List(vec![3.0, 0.1])),
            ]),
            metrics: BTreeMap::from([
                ("value".to_string(), x * x),
                ("other".to_string(), 0.1 + 0.2),
            ]),
            curves: BTreeMap::from([("loss".to_string(), vec![(0, 1.0), (1, 0.5)])]),
        }
    }

    #[test]
    fn records_round_trip_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "s", None);
        let records = vec![
            record("a", 0, Status::Ok, 0.1),
            record("b", 1, Status::Error, 1e-300),
        ];
        store.append(&records).unwrap();
        assert_eq!(store.load().unwrap(), records);
        assert_eq!(store.consolidate().unwrap(), records);
        assert!(!dir.path().join("s/parts").exists());
        assert!(dir.path().join("s/trials.csv").exists());
        assert_eq!(store.load().unwrap(), records);
    }

    #[test]
    fn ok_rows_win_over_failures_and_later_over_earlier() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "s", None);
        store.append(&[record("a", 0, Status::Error, 1.0)]).unwrap();
        store.append(&[record("a", 0, Status::Ok, 2.0)]).unwrap();
        store.append(&[record("a", 0, Status::Error, 3.0)]).unwrap();
        let loaded = store.consolidate().unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].status, Status::Ok);
        assert_eq!(loaded[0].params["x"], Value::Float(2.0));
    }

    #[test]
    fn a_torn_temporary_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "s", None);
        store.append(&[record("a", 0, Status::Ok, 1.0)]).unwrap();
        fs::write(
            dir.path().join("s/parts/000-1-1.trials.parquet.tmp-99"),
            b"PAR1 torn",
        )
        .unwrap();
        assert_eq!(store.load().unwrap().len(), 1);
    }

    /// Stores written before the `method_code` column existed still load; their trials carry an
    /// empty code identity, which the runner treats as stale.
    #[test]
    fn a_store_without_the_method_code_column_reads_as_unversioned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.parquet");
        let frame = trials_frame(&[record("a", 0, Status::Ok, 1.0)]).unwrap();
        let mut old = frame.drop("method_code").unwrap();
        write_parquet(&path, &mut old, false).unwrap();
        let loaded = parse_trials(&fs::read(&path).unwrap(), &path, &HashMap::new()).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].method_code, "");
        assert_eq!(loaded[0].metrics["value"], 1.0);
    }

    /// Flip one bit in the middle of `path`.
    fn flip(path: &Path) {
        let mut bytes = fs::read(path).unwrap();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x10;
        fs::write(path, bytes).unwrap();
    }

    fn damaged_file(e: HarnessError) -> (PathBuf, String) {
        match e {
            HarnessError::Damaged { path, message } => (path, message),
            other => panic!("not a damaged-file error: {other}"),
        }
    }

    /// A consolidated store of two trials plus one part of a third.
    fn store_with_a_part(dir: &Path) -> (Store, PathBuf) {
        let store = Store::new(dir, "s", None);
        store
            .append(&[
                record("a", 0, Status::Ok, 1.0),
                record("b", 1, Status::Ok, 2.0),
            ])
            .unwrap();
        store.consolidate().unwrap();
        store.append(&[record("c", 2, Status::Ok, 3.0)]).unwrap();
        let part = store.part_files().unwrap().remove(0);
        (store, part)
    }

    #[test]
    fn every_file_is_verified_and_a_flip_names_the_file_and_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let (store, part) = store_with_a_part(dir.path());
        assert_eq!(store.load().unwrap().len(), 3);
        let sums = Checksums::read(&store.dir().join(CHECKSUMS))
            .unwrap()
            .unwrap();
        assert_eq!(
            sums.blake3.keys().collect::<Vec<_>>(),
            [CURVES, TRIALS_CSV, TRIALS]
        );
        for (file, way_out) in [
            (store.dir().join(TRIALS), "with --force"),
            (
                store.dir().join(CURVES),
                "trials that record curves are recomputed",
            ),
            (
                store.dir().join(TRIALS_CSV),
                "written again from trials.parquet",
            ),
            (part.clone(), "its trials are recomputed"),
            (part_curves_path(&part), "its trials are recomputed"),
        ] {
            let good = fs::read(&file).unwrap();
            flip(&file);
            for e in [store.load().unwrap_err(), store.load_trials().unwrap_err()] {
                assert!(e.is_user_error());
                let (path, message) = damaged_file(e);
                assert_eq!(path, file);
                assert!(
                    message.contains("checksum") && message.contains(way_out),
                    "{message}"
                );
            }
            fs::write(&file, good).unwrap();
        }
        assert_eq!(store.load().unwrap().len(), 3);
    }

    #[test]
    fn run_sets_damaged_parts_and_curves_aside_and_refuses_damaged_trials_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let (store, part) = store_with_a_part(dir.path());
        flip(&part);
        let warnings = store.set_aside_damaged(false).unwrap();
        assert!(
            warnings.len() == 1 && warnings[0].contains("its trials run again"),
            "{warnings:?}"
        );
        assert!(!part.exists() && !part_curves_path(&part).exists());
        assert_eq!(
            fs::read_dir(store.dir().join(DAMAGED_DIR)).unwrap().count(),
            3
        );
        let ids: Vec<String> = store
            .load()
            .unwrap()
            .into_iter()
            .map(|r| r.trial_id)
            .collect();
        assert_eq!(ids, ["a", "b"], "the damaged part's trial is to run again");

        flip(&store.dir().join(CURVES));
        let warnings = store.set_aside_damaged(false).unwrap();
        assert!(
            warnings[0].contains("curves are recomputed"),
            "{warnings:?}"
        );
        assert!(store.curves_missing());
        assert!(store.load().is_err(), "lost curves are never read as none");
        assert!(store.load_for_run().unwrap()[0].curves.is_empty());

        flip(&store.dir().join(TRIALS));
        let (path, message) = damaged_file(store.set_aside_damaged(false).unwrap_err());
        assert_eq!(path, store.dir().join(TRIALS));
        assert!(message.contains("cannot restore it"), "{message}");
        let warnings = store.set_aside_damaged(true).unwrap();
        assert!(warnings[0].contains("--force recomputes"), "{warnings:?}");
        assert!(store.load().unwrap().is_empty());
        // What a forced run then stores verifies again.
        store.append(&[record("a", 0, Status::Ok, 1.0)]).unwrap();
        assert_eq!(store.consolidate_after_run().unwrap().len(), 1);
        assert_eq!(store.load().unwrap().len(), 1);
    }

    #[test]
    fn a_lost_part_curves_file_is_an_error_not_empty_curves() {
        let dir = tempfile::tempdir().unwrap();
        let (store, part) = store_with_a_part(dir.path());
        fs::remove_file(part_curves_path(&part)).unwrap();
        let (path, message) = damaged_file(store.load().unwrap_err());
        assert_eq!(path, part_curves_path(&part));
        assert!(message.contains("is missing"), "{message}");
        // Also in a part written before checksums existed.
        fs::remove_file(part_checksums_path(&part)).unwrap();
        assert!(store.load().is_err());
        store.set_aside_damaged(false).unwrap();
        assert_eq!(store.load().unwrap().len(), 2);
    }

    #[test]
    fn a_damaged_checksums_file_is_refused_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_with_a_part(dir.path());
        let sums = store.dir().join(CHECKSUMS);
        fs::write(&sums, "{\"format\": 1, \"blake3\": {").unwrap();
        let (path, message) = damaged_file(store.load().unwrap_err());
        assert_eq!(path, sums);
        assert!(message.contains("--force"), "{message}");
        assert!(store.set_aside_damaged(false).is_err());
        store.set_aside_damaged(true).unwrap();
        assert_eq!(store.load().unwrap().len(), 1, "the part is intact");
    }

    /// Stores written before checksums existed still load; a file of theirs that does not parse
    /// is damaged too, and `run --force` sets it aside.
    #[test]
    fn a_store_without_checksums_loads_and_its_unreadable_files_are_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_with_a_part(dir.path());
        store.consolidate().unwrap();
        fs::remove_file(store.dir().join(CHECKSUMS)).unwrap();
        assert_eq!(store.load().unwrap().len(), 3);
        fs::write(store.dir().join(TRIALS), b"PAR1 not parquet PAR1").unwrap();
        let (_, message) = damaged_file(store.load().unwrap_err());
        assert!(message.contains("cannot be read"), "{message}");
        assert!(store.set_aside_damaged(false).is_err());
        store.set_aside_damaged(true).unwrap();
        assert!(store.load().unwrap().is_empty());
    }

    /// A kill between two of consolidation's renames leaves old and new main files side by
    /// side: both versions are recorded first, so the store still verifies.
    #[test]
    fn a_consolidation_cut_between_renames_leaves_a_store_that_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_with_a_part(dir.path());
        let old_trials = fs::read(store.dir().join(TRIALS)).unwrap();
        let before = store.read_unlocked(Curves::Parse, false).unwrap();
        store.consolidate().unwrap();
        // As write_all leaves it when killed after its first renames: the checksums of both
        // versions, the new curves, the old trials.
        let after = store.read_unlocked(Curves::Parse, false).unwrap();
        let mut both = Checksums::new();
        for name in [CURVES, TRIALS, TRIALS_CSV] {
            both.allow(
                name,
                vec![before.main[name].clone(), after.main[name].clone()],
            );
        }
        both.write(&store.dir().join(CHECKSUMS)).unwrap();
        fs::write(store.dir().join(TRIALS), old_trials).unwrap();
        assert_eq!(store.load().unwrap().len(), 2);
    }

    /// Records of shard `index` of `count` (ids in its slice, as the runner splits them).
    fn slice(index: u32, count: u32, per_shard: u64) -> Vec<TrialRecord> {
        (0..per_shard)
            .map(|k| {
                let n = k * u64::from(count) + u64::from(index - 1);
                record(&format!("{n:016x}"), n, Status::Ok, n as f64)
            })
            .collect()
    }

    fn info(index: u32, count: u32, per_shard: u64, complete: bool) -> ShardInfo {
        ShardInfo {
            spec: "s".into(),
            spec_hash: "h".into(),
            index,
            count,
            seeds: 1,
            slice_trials: per_shard as usize,
            sweep_trials: (per_shard * u64::from(count)) as usize,
            complete,
        }
    }

    /// A shard store as a run leaves it: its trials, its spec, its provenance, `shard.json`.
    fn shard(root: &Path, index: u32, count: u32, per_shard: u64, complete: bool) -> Store {
        let store = Store::new(root, "s", Some((index, count)));
        let lock = store.lock_for_writing().unwrap();
        store.append(&slice(index, count, per_shard)).unwrap();
        store.consolidate().unwrap();
        fs::write(store.dir().join("spec.yaml"), "name: s\n").unwrap();
        write_json(
            &store.dir().join("provenance.json"),
            &serde_json::json!({"spec": "s", "runs": [{"hostname": format!("node{index}")}]}),
        )
        .unwrap();
        store
            .write_shard_info(&info(index, count, per_shard, complete))
            .unwrap();
        drop(lock);
        store
    }

    fn build() -> crate::provenance::BuildInfo {
        crate::provenance::BuildInfo::default()
    }

    fn states(report: &ClusterReport) -> Vec<ShardState> {
        report.shards.iter().map(|s| s.state).collect()
    }

    #[test]
    fn shards_merge_into_a_complete_store() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("s");
        shard(dir.path(), 2, 2, 3, true);
        shard(dir.path(), 1, 2, 3, true);
        let report = merge(&root, &build()).unwrap();
        assert!(report.is_whole(), "{report:?}");
        assert_eq!(report.folded, [1, 2]);
        let mut all = slice(1, 2, 3);
        all.extend(slice(2, 2, 3));
        all.sort_by_key(|r| r.order);
        assert_eq!(Store::at(&root).load().unwrap(), all);
        assert!(!root.join("shards").exists());
        assert_eq!(
            fs::read_to_string(root.join("spec.yaml")).unwrap(),
            "name: s\n"
        );
        let runs = crate::provenance::run_entries(&root);
        let hosts: Vec<_> = runs.iter().filter_map(|r| r.get("hostname")).collect();
        assert_eq!(
            runs.len(),
            3,
            "one entry per shard run plus the merge: {runs:?}"
        );
        assert!(hosts.contains(&&serde_json::json!("node1")));
        assert_eq!(runs[2]["merge"]["shards"], 2);
        // A second merge has nothing to fold and still knows the store is whole.
        let again = merge(&root, &build()).unwrap();
        assert!(again.is_whole() && again.folded.is_empty(), "{again:?}");
        assert_eq!(cluster_status(&root).unwrap().merged_trials, 6);
    }

    #[test]
    fn a_running_or_unfinished_shard_is_neither_folded_nor_touched() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("s");
        shard(dir.path(), 1, 4, 2, true);
        let running = shard(dir.path(), 2, 4, 2, true);
        let writer = running.lock_for_writing().unwrap();
        shard(dir.path(), 3, 4, 2, false);
        let report = merge(&root, &build()).unwrap();
        use ShardState::*;
        assert_eq!(states(&report), [Merged, Running, Incomplete, Missing]);
        assert!(!report.is_whole());
        assert_eq!(report.merged_trials, 2);
        assert_eq!(Store::at(running.dir()).load().unwrap().len(), 2);
        assert_eq!(
            Store::new(dir.path(), "s", Some((3, 4)))
                .load()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            states(&cluster_status(&root).unwrap()),
            [Merged, Running, Incomplete, Missing]
        );
        drop(writer);
        shard(dir.path(), 3, 4, 2, true);
        shard(dir.path(), 4, 4, 2, true);
        assert_eq!(
            states(&cluster_status(&root).unwrap()),
            [Merged, Done, Done, Done]
        );
        let report = merge(&root, &build()).unwrap();
        assert!(report.is_whole(), "{report:?}");
        assert_eq!(Store::at(&root).load().unwrap().len(), 8);
    }

    #[test]
    fn shards_that_cannot_be_one_sweep_are_refused_and_nothing_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("s");
        shard(dir.path(), 1, 2, 2, true);
        shard(dir.path(), 1, 3, 2, true);
        let e = merge(&root, &build()).unwrap_err().to_string();
        assert!(
            e.contains("different shard counts") && e.contains("shards"),
            "{e}"
        );
        assert!(root.join("shards/001-of-002").exists() && root.join("shards/001-of-003").exists());
        fs::remove_dir_all(root.join("shards/001-of-003")).unwrap();
        let other = shard(dir.path(), 2, 2, 2, true);
        let mut changed = info(2, 2, 2, true);
        changed.spec_hash = "changed".into();
        other.write_shard_info(&changed).unwrap();
        let e = merge(&root, &build()).unwrap_err();
        assert!(
            e.is_user_error() && e.to_string().contains("different specs"),
            "{e}"
        );
        assert!(root.join("shards/001-of-002/trials.parquet").exists());
        fs::create_dir_all(root.join("shards/stray")).unwrap();
        let e = merge(&root, &build()).unwrap_err().to_string();
        assert!(
            e.contains("stray") && e.contains("not a shard folder"),
            "{e}"
        );
    }

    #[test]
    fn a_folder_that_is_not_a_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = merge(dir.path(), &build()).unwrap_err();
        assert!(
            e.is_user_error() && e.to_string().contains("not a result store"),
            "{e}"
        );
        let e = merge(&dir.path().join("nowhere"), &build()).unwrap_err();
        assert!(e.to_string().contains("no such results folder"), "{e}");
        assert!(
            fs::read_dir(dir.path()).unwrap().next().is_none(),
            "nothing written"
        );
    }

    #[test]
    fn concurrent_merges_take_turns_and_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("s");
        for index in 1..=6 {
            shard(dir.path(), index, 6, 5, true);
        }
        std::thread::scope(|scope| {
            let merges: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| merge(&root, &build()).unwrap()))
                .collect();
            let folded: Vec<u32> = merges
                .into_iter()
                .flat_map(|m| m.join().unwrap().folded)
                .collect();
            let mut sorted = folded.clone();
            sorted.sort();
            assert_eq!(sorted, [1, 2, 3, 4, 5, 6], "each shard folded exactly once");
        });
        assert_eq!(Store::at(&root).load().unwrap().len(), 30);
        assert!(merge(&root, &build()).unwrap().is_whole());
    }
}
