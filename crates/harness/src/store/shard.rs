//! Shard info: which slice of a sweep a shard store holds and whether its writer finished it
//! (`shards/III-of-NNN/shard.json`), and the split of trial ids into slices.

use std::path::Path;

use super::files::write_json;
use super::schema::SHARD_INFO;
use crate::error::HarnessError;

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

impl ShardInfo {
    /// The shard info in shard folder `dir`; `None` when there is none or it does not parse.
    pub(crate) fn read(dir: &Path) -> Option<ShardInfo> {
        std::fs::read_to_string(dir.join(SHARD_INFO))
            .ok()
            .and_then(|t| serde_json::from_str::<ShardInfo>(&t).ok())
    }

    /// Record it in shard folder `dir`; atomic.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), HarnessError> {
        let value = serde_json::to_value(self).map_err(|e| HarnessError::store(dir, e))?;
        write_json(&dir.join(SHARD_INFO), &value)
    }
}

/// The folder name of shard `index` of `count`.
pub fn shard_name(index: u32, count: u32) -> String {
    format!("{index:03}-of-{count:03}")
}

/// `III-of-NNN` → (index, count), with 1 ≤ index ≤ count.
pub(crate) fn parse_shard_name(name: &str) -> Option<(u32, u32)> {
    let (i, n) = name.split_once("-of-")?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(i) || !digits(n) {
        return None;
    }
    let (index, count) = (i.parse().ok()?, n.parse().ok()?);
    (1..=count).contains(&index).then_some((index, count))
}

/// Which shard of `count` a trial id belongs to (0-based; the runner's split, see
/// `Trial::shard`); `None` for no shards at all.
pub(crate) fn slice_of(trial_id: &str, count: u32) -> Option<u32> {
    if count == 0 {
        return None;
    }
    u64::from_str_radix(trial_id, 16)
        .ok()
        .map(|id| (id % u64::from(count)) as u32)
}
