//! Finding where a key sits in a YAML file, for error messages.
//!
//! The YAML parser reports places only for syntax and type errors. Validation errors (an unknown
//! parameter, a value out of range) are found after parsing, so their place is recovered from the
//! text: block-style keys by indentation, flow-style keys (`{a: 1}`) by searching the parent's
//! line. Returns 1-based (line, column), or `None` when the key cannot be found.

/// The place of the key at `path` (e.g. `["params", "k"]`).
pub fn locate(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let (mut from, mut to, mut parent_indent) = (0, lines.len(), None::<usize>);
    let mut place = None;
    for key in path {
        match find_block_key(&lines, from, to, parent_indent, key) {
            Some((line, indent)) => {
                place = Some((line + 1, indent + 1));
                from = line + 1;
                to = block_end(&lines, line, indent);
                parent_indent = Some(indent);
            }
            None => {
                // Flow style on the parent's line, e.g. `params: {m: 100, k: 5}`.
                let line = from.checked_sub(1)?;
                let column = find_flow_key(lines[line], key)?;
                return Some((line + 1, column + 1));
            }
        }
    }
    place
}

/// The place of `key` anywhere inside the block of the top-level key `top` (sweeps nest keys
/// under `grid`, `zip`, `union` at any depth).
pub fn locate_under(text: &str, top: &str, key: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let (start, indent) = find_block_key(&lines, 0, lines.len(), None, top)?;
    let end = block_end(&lines, start, indent);
    (start..end).find_map(|i| {
        let column = key_column(lines[i], key).or_else(|| find_flow_key(lines[i], key))?;
        Some((i + 1, column + 1))
    })
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

/// The column of `key:` when the line is a block mapping entry (optionally a list item).
fn key_column(line: &str, key: &str) -> Option<usize> {
    let indent = indent_of(line);
    let mut rest = &line[indent..];
    let mut column = indent;
    if let Some(r) = rest.strip_prefix("- ") {
        column += 2 + (r.len() - r.trim_start().len());
        rest = r.trim_start();
    }
    let rest = rest.strip_prefix(key).or_else(|| {
        rest.strip_prefix(&format!("\"{key}\""))
            .or_else(|| rest.strip_prefix(&format!("'{key}'")))
    })?;
    rest.trim_start().starts_with(':').then_some(column)
}

fn find_block_key(
    lines: &[&str],
    from: usize,
    to: usize,
    parent_indent: Option<usize>,
    key: &str,
) -> Option<(usize, usize)> {
    (from..to).find_map(|i| {
        let column = key_column(lines[i], key)?;
        let deeper = parent_indent.is_none_or(|p| indent_of(lines[i]) > p);
        deeper.then_some((i, column))
    })
}

/// One past the last line of the block opened by the key on line `start` at column `column`:
/// its children are the content lines indented deeper than the key itself.
fn block_end(lines: &[&str], start: usize, column: usize) -> usize {
    (start + 1..lines.len())
        .find(|&i| is_content(lines[i]) && indent_of(lines[i]) <= column)
        .unwrap_or(lines.len())
}

/// Column of `key` used as a key inside a flow mapping on this line (`{key: …}` or `, key: …`).
fn find_flow_key(line: &str, key: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut search = 0;
    while let Some(offset) = line[search..].find(key) {
        let at = search + offset;
        let before = line[..at].trim_end();
        let after = line[at + key.len()..].trim_start();
        let starts_key = before.ends_with('{') || before.ends_with(',') || before.ends_with('[');
        if starts_key && after.starts_with(':') {
            return Some(at);
        }
        search = at + key.len().max(1);
        if search >= bytes.len() {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: x\nparams:\n  m: 100\n  k: 5\nsweep:\n  grid:\n    budget: [1, 2]\n    k: [3]\nflow: {a: 1, k: 2}\n";

    #[test]
    fn block_keys_are_found_by_path() {
        assert_eq!(locate(TEXT, &["params", "k"]), Some((4, 3)));
        assert_eq!(locate(TEXT, &["name"]), Some((1, 1)));
        assert_eq!(locate(TEXT, &["params", "budget"]), None);
    }

    #[test]
    fn flow_keys_are_found_on_the_parent_line() {
        assert_eq!(locate(TEXT, &["flow", "k"]), Some((9, 14)));
    }

    #[test]
    fn keys_are_found_anywhere_under_a_block() {
        assert_eq!(locate_under(TEXT, "sweep", "k"), Some((8, 5)));
        assert_eq!(locate_under(TEXT, "sweep", "m"), None);
    }
}
