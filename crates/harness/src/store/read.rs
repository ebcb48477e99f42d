//! Reading a store with verification: the main files and the parts, each checked against the
//! checksums recorded when it was written, folded into one row per trial id.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::checksums::{self, Checksums, Verdict};
use super::codec::{parse_curves, parse_trials, CurveMap};
use super::damage::Role;
use super::folder::{part_checksums_path, part_curves_path, Store};
use super::provenance;
use super::record::{deduplicate, TrialRecord};
use super::schema::{
    CHECKSUMS_FILE as CHECKSUMS, CONSOLIDATE_LOCK, CURVES_FILE as CURVES, TRIALS_CSV,
    TRIALS_FILE as TRIALS,
};
use crate::error::HarnessError;

type Result<T> = std::result::Result<T, HarnessError>;

/// Whether a read parses the curves; they are verified either way, so that every reader of a
/// store sees the same damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curves {
    Parse,
    Verify,
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
pub(crate) struct Snapshot {
    pub(crate) records: Vec<TrialRecord>,
    pub(crate) parts: Vec<PathBuf>,
    /// The main files as found: name → blake3 (`None`: absent).
    pub(crate) main: BTreeMap<String, Option<String>>,
}

impl Store {
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
    pub(crate) fn read_unlocked(&self, curves: Curves, lost_curves_ok: bool) -> Result<Snapshot> {
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
        if sums.is_none() && self.main_checksums_lost() {
            return Err(fatal(self.lost_checksums(&sums_path, Role::Checksums)));
        }
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
            if sums.is_none() && self.checksums_required() {
                return Err(vanished(self.lost_checksums(&sums_path, Role::Part)));
            }
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

    /// Whether the store's history says its files were written with checksums.
    pub(crate) fn checksums_required(&self) -> bool {
        provenance::read(&self.dir).written_with_checksums()
    }

    /// `checksums.json` is gone while main files are there and the history says they were
    /// written with checksums.
    pub(crate) fn main_checksums_lost(&self) -> bool {
        !self.dir.join(CHECKSUMS).exists()
            && [TRIALS, CURVES, TRIALS_CSV]
                .iter()
                .any(|name| self.dir.join(name).exists())
            && self.checksums_required()
    }

    /// The bytes of `folder/name` and their blake3, verified against `sums`; `None` when the
    /// file is absent (and allowed to be).
    pub(crate) fn read_verified(
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
}
