//! A guard for `.npy` files read from users: the header must not promise more data than the file
//! holds. Readers allocate the whole array from the header's shape before reading it, so a
//! corrupt or hostile header (shape 10⁵ × 10⁵ × 10⁵ over a few bytes) would abort the process on
//! an impossible allocation instead of giving an error.

/// Check the header of the `.npy` file in `bytes`: its element size and shape against the bytes
/// that follow it. `Ok` means a reader can allocate safely (the data may still be malformed in
/// ways the reader reports itself); `Err` says what is wrong.
pub fn check_npy_size(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("is not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (header_len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => {
            return Err(format!(
                "has .npy format version {v}, which is not supported"
            ))
        }
    };
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or("has a header longer than the file")?;
    let header =
        std::str::from_utf8(&bytes[start..end]).map_err(|_| "has a header that is not text")?;
    let field = |name: &str| -> Option<&str> {
        let key = format!("'{name}':");
        let at = header.find(&key)? + key.len();
        Some(header[at..].trim_start())
    };
    // Unknown element types are left to the reader, which names the dtype it found.
    let item_size: usize = match field("descr").and_then(|d| d.get(1..4)) {
        Some(d) if d.ends_with('8') => 8,
        Some(d) if d.ends_with('4') => 4,
        Some(d) if d.ends_with('2') => 2,
        _ => 1,
    };
    let shape = field("shape").ok_or("has no shape in its header")?;
    let close = shape
        .find(')')
        .ok_or("has a malformed shape in its header")?;
    let mut count: u128 = 1;
    for dim in shape[1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let n: u128 = dim
            .parse()
            .map_err(|_| format!("has a malformed shape {} in its header", &shape[..=close]))?;
        count = count.saturating_mul(n);
    }
    let needed = count.saturating_mul(item_size as u128);
    let available = (bytes.len() - end) as u128;
    if needed > available {
        return Err(format!(
            "declares shape {} ({count} values, {needed} bytes) but holds only {available} bytes of data",
            &shape[..=close]
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(shape: &str, data: usize) -> Vec<u8> {
        let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(vec![0u8; data]);
        bytes
    }

    #[test]
    fn headers_that_promise_more_than_the_file_holds_are_refused() {
        assert!(check_npy_size(&npy("(2, 3)", 48)).is_ok());
        assert!(check_npy_size(&npy("(5,)", 40)).is_ok());
        assert!(check_npy_size(&npy("()", 8)).is_ok());
        let err = check_npy_size(&npy("(100000, 100000, 100000)", 64)).unwrap_err();
        assert!(
            err.contains("(100000, 100000, 100000)") && err.contains("only 64 bytes"),
            "{err}"
        );
        assert!(check_npy_size(&npy("(2, 3)", 47)).is_err());
        // Products beyond u64 saturate instead of wrapping around to something small.
        assert!(check_npy_size(&npy("(18446744073709551615, 4)", 64)).is_err());
        assert!(check_npy_size(b"not numpy").is_err());
        assert!(check_npy_size(&npy("(2, x)", 48)).is_err());
    }
}
