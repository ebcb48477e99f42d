//! A store folder and where its files are: the main files, the parts of a run in progress, and
//! the shard folders of a cluster run. Nothing here reads or writes a file's contents.

use std::fs;
use std::path::{Path, PathBuf};

use super::schema::{
    CURVES_FILE as CURVES, PARTS_DIR as PARTS, PART_CHECKSUMS, PART_CURVES, PART_TRIALS,
    SHARDS_DIR as SHARDS, TRIALS_FILE as TRIALS,
};
use super::shard::{parse_shard_name, shard_name};
use crate::error::HarnessError;

type Result<T> = std::result::Result<T, HarnessError>;

/// A store folder.
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) dir: PathBuf,
}

impl Store {
    /// The store of spec `name` under `out`, or of one shard of it. Nothing is created yet.
    pub fn new(out: &Path, name: &str, shard: Option<(u32, u32)>) -> Store {
        let dir = out.join(name);
        Store {
            dir: match shard {
                Some((index, count)) => dir.join(SHARDS).join(shard_name(index, count)),
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

    /// Part files of finished trials that are not consolidated yet: a run in progress, or one
    /// that was stopped (their trials are in what [`Store::load`] returns).
    pub fn unconsolidated_parts(&self) -> usize {
        self.part_files().map_or(0, |p| p.len())
    }

    /// Whether anything was ever stored: a trials file or parts of one.
    pub fn has_trials(&self) -> bool {
        self.dir.join(TRIALS).exists() || self.unconsolidated_parts() > 0
    }

    /// `trials.parquet` is there but `curves.parquet`, which consolidation always writes beside
    /// it, is not: the curves of its trials are lost (a deleted or damaged file), not empty.
    pub fn curves_missing(&self) -> bool {
        self.dir.join(TRIALS).exists() && !self.dir.join(CURVES).exists()
    }

    /// (index, count) when this store is a shard.
    pub(crate) fn shard(&self) -> Option<(u32, u32)> {
        self.shard_root()?;
        parse_shard_name(self.dir.file_name()?.to_str()?)
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

    /// Committed part files, oldest first (names start with a timestamp).
    pub(crate) fn part_files(&self) -> Result<Vec<PathBuf>> {
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
}

/// The curves file of a trials part.
pub(crate) fn part_curves_path(trials_part: &Path) -> PathBuf {
    PathBuf::from(
        trials_part
            .to_string_lossy()
            .replace(PART_TRIALS, PART_CURVES),
    )
}

/// The checksums file of a trials part.
pub(crate) fn part_checksums_path(trials_part: &Path) -> PathBuf {
    PathBuf::from(
        trials_part
            .to_string_lossy()
            .replace(PART_TRIALS, PART_CHECKSUMS),
    )
}
