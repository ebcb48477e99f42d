//! Opening the user's input files (specs, matrices, states, any `File` parameter) the one safe
//! way: a regular file, whose size is known before a byte is read. `/dev/zero` read as a CSV
//! aborted on a 4 GB allocation and a FIFO given as states hung the loading of the spec.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// `path` opened for reading, with its size, when it is a regular file (symbolic links are
/// followed); otherwise a message saying what it is and what is accepted.
pub fn open_regular(path: &Path) -> Result<(File, u64), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open: {e}"))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a device, FIFO or socket)"
        };
        return Err(format!("{what}; give a regular file"));
    }
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    Ok((file, meta.len()))
}

/// The bytes of the regular file `path`, at most `limit` of them (a larger file is an error
/// that says its size and the limit). A file that grows while it is read is cut at its size
/// when it was opened plus one byte, which is then reported as too large.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let (file, len) = open_regular(path)?;
    if len > limit {
        return Err(format!(
            "the file is {len} bytes; at most {limit} are accepted here"
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > len {
        return Err("the file grew while it was read; read it again once it is written".into());
    }
    Ok(bytes)
}

/// blake3 of the regular file `path`, read in a stream (any size, constant memory).
pub fn hash_regular(path: &Path) -> Result<blake3::Hash, String> {
    let (file, len) = open_regular(path)?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(file.take(len))
        .map_err(|e| format!("cannot read: {e}"))?;
    Ok(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_folders_and_oversized_files_are_refused_before_reading() {
        let zero = read_regular(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(zero.contains("not a regular file"), "{zero}");
        let dir = tempfile::tempdir().unwrap();
        assert!(read_regular(dir.path(), 10)
            .unwrap_err()
            .contains("a folder"));
        let file = dir.path().join("f");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read_regular(&file, 10).unwrap(), b"0123456789");
        assert!(read_regular(&file, 9).unwrap_err().contains("10 bytes"));
        assert_eq!(hash_regular(&file).unwrap(), blake3::hash(b"0123456789"));
    }
}
