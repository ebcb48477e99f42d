//! Repair before a run: every damaged file a run can do without is set aside under `damaged/`
//! (and named), so that the run recomputes what it held. A damaged `trials.parquet` or
//! `checksums.json` is set aside only with `--force`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::checksums::{Checksums, Verdict};
use super::codec::{parse_curves, parse_trials, CurveMap};
use super::damage::{Role, LOST_CHECKSUMS};
use super::folder::{part_checksums_path, part_curves_path, Store};
use super::schema::{
    CHECKSUMS_FILE as CHECKSUMS, CONSOLIDATE_LOCK, CURVES_FILE as CURVES, DAMAGED_DIR, TRIALS_CSV,
    TRIALS_FILE as TRIALS,
};
use crate::error::HarnessError;

type Result<T> = std::result::Result<T, HarnessError>;

impl Store {
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
        let read = match Checksums::read(&sums_path) {
            Ok(None) if self.main_checksums_lost() => Err(LOST_CHECKSUMS.to_string()),
            Ok(sums) => Ok(sums),
            Err(why) => Err(format!("damaged: {why}")),
        };
        let mut sums = match read {
            Ok(sums) => sums,
            Err(why) => {
                if !force {
                    return Err(if sums_path.exists() {
                        self.damaged(&sums_path, &why, Role::Checksums)
                    } else {
                        self.lost_checksums(&sums_path, Role::Checksums)
                    });
                }
                for name in [CHECKSUMS, TRIALS, CURVES, TRIALS_CSV] {
                    let path = self.dir.join(name);
                    if path.exists() {
                        let aside = self.set_aside(&path)?;
                        warnings.push(format!(
                            "{}: {} {why}, so nothing vouches for the files beside it: kept aside as {}; --force recomputes every trial",
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
        warnings.extend(self.set_aside_damaged_parts()?);
        drop(lock);
        Ok(warnings)
    }

    /// Every damaged part (its trials, curves and checksums) moved under `damaged/`; their
    /// trials run again. Called under the consolidation lock.
    fn set_aside_damaged_parts(&self) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
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
        Ok(warnings)
    }

    /// Verify and parse one part, as [`Store::load`] does.
    fn try_read_part(&self, part: &Path) -> Result<()> {
        let sums_path = part_checksums_path(part);
        let sums = Checksums::read(&sums_path)
            .map_err(|why| self.damaged(&sums_path, &format!("damaged: {why}"), Role::Part))?;
        if sums.is_none() && self.checksums_required() {
            return Err(self.lost_checksums(&sums_path, Role::Part));
        }
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
}
