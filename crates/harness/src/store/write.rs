//! Writing a store: the writer lock, appending finished trials as parts, and consolidating the
//! parts into the main files (under an exclusive lock, one atomic rename per file, checksums
//! that accept whatever a kill between two renames leaves).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::checksums::{self, Checksums};
use super::codec::{csv_bytes, curves_frame, parquet_bytes, trials_frame};
use super::files::write_bytes;
use super::folder::{part_checksums_path, part_curves_path, Store};
use super::read::Curves;
use super::record::TrialRecord;
use super::schema::{
    CHECKSUMS_FILE as CHECKSUMS, CONSOLIDATE_LOCK, CURVES_FILE as CURVES, MERGE_LOCK,
    PARTS_DIR as PARTS, PART_CHECKSUMS, PART_CURVES, PART_TRIALS, TRIALS_CSV,
    TRIALS_FILE as TRIALS, WRITER_LOCK,
};
use super::shard::ShardInfo;
use crate::error::HarnessError;

type Result<T> = std::result::Result<T, HarnessError>;

impl Store {
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

    /// Record what this shard's writer is doing (see [`ShardInfo`]); atomic.
    pub fn write_shard_info(&self, info: &ShardInfo) -> Result<()> {
        info.write(self.dir())
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

/// When a merge or status holds `root`'s merge lock, wait until it is done and say so; `false`
/// when none does (or the store has no merge lock yet).
pub(crate) fn wait_for_merge(root: &Path) -> bool {
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
