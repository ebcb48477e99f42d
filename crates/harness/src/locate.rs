//! Finding where a key sits in a YAML file, for error messages.
//!
//! The YAML parser reports places only for syntax and type errors. Validation errors (an unknown
//! parameter, a value out of range) are found after parsing, so their place is recovered from the
//! text: block-style keys by indentation, flow-style keys (`{a: 1}`) by searching the parent's
//! line. Returns 1-based (line, column), or `None` when the key cannot be found.
//!
//! A [`Location`] names a place by its path from the top, list indexes included
//! (`report.figures[4].series`), so that a mistake in the fifth figure is shown at the fifth
//! figure's line and not at the first `series:` of the file.

use std::fmt;

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

/// One step of a [`Location`]: a key of a mapping or an index of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Where a value is written in a spec: the path of keys and list indexes from the top, such as
/// `expect[2].threshold.where.x`. Validation builds it as it descends, so that every error can
/// name its own place; [`Location::find`] turns it into a line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location(Vec<Step>);

impl Location {
    /// The whole file.
    pub fn root() -> Self {
        Location::default()
    }

    /// The value of `key` in the mapping at this location.
    pub fn key(&self, key: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.to_string()));
        Location(steps)
    }

    /// The `index`-th (0-based) item of the list at this location.
    pub fn index(&self, index: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        Location(steps)
    }

    pub fn steps(&self) -> &[Step] {
        &self.0
    }

    /// The 1-based (line, column) of this place in `text`: of its key, or of its list item's
    /// dash (or first character, in a flow list). A place that is not written (a field left at
    /// its default, a figure made up by the defaults) is shown at its nearest written ancestor;
    /// `None` when not even the top-level key is in the file.
    pub fn find(&self, text: &str) -> Option<(usize, usize)> {
        let mut node = Node::root(text);
        let mut found = None;
        for step in &self.0 {
            let next = match step {
                Step::Key(key) => node.key(text, key),
                Step::Index(i) => node.index(text, *i),
            };
            match next {
                Some(n) => {
                    found = Some(position(text, n.start));
                    node = n;
                }
                None => break,
            }
        }
        found
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) if i == 0 => write!(f, "{key}")?,
                Step::Key(key) => write!(f, ".{key}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// How a node of the walk was written, which decides where its children can be.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    /// The file: every line.
    Root,
    /// A `key:` in block style: children on the following, deeper lines (or in a flow value on
    /// its own line).
    Key,
    /// A `- ` item of a block list: children on its dash line and the deeper lines below.
    Item,
    /// Inside `{…}` or `[…]`: children only in flow style, within the node's bytes.
    Flow,
}

/// A node found in the text: the bytes `start..end` it spans, and the column of its key or dash.
#[derive(Debug, Clone, Copy)]
struct Node {
    start: usize,
    end: usize,
    column: usize,
    style: Style,
}

impl Node {
    fn root(text: &str) -> Node {
        Node {
            start: 0,
            end: text.len(),
            column: 0,
            style: Style::Root,
        }
    }

    fn key(&self, text: &str, key: &str) -> Option<Node> {
        if self.style != Style::Flow {
            if let Some(found) = self.block_key(text, key) {
                return Some(found);
            }
        }
        self.flow_key(text, key)
    }

    /// `key:` starting a line (after an optional dash) below this node, deeper than it.
    fn block_key(&self, text: &str, key: &str) -> Option<Node> {
        let own_line = matches!(self.style, Style::Root | Style::Item);
        for (offset, line) in lines_in(text, self.start, self.end).skip(usize::from(!own_line)) {
            let Some(column) = key_column(line, key) else {
                continue;
            };
            // Top-level keys start their line; others lie deeper than their parent.
            let deeper = match self.style {
                Style::Root => column == 0,
                _ => column > self.column,
            };
            if !deeper {
                continue;
            }
            return Some(Node {
                start: offset + column,
                end: block_end_from(text, offset, column).min(self.end),
                column,
                style: Style::Key,
            });
        }
        None
    }

    /// `key:` inside a flow mapping within this node (`{a: 1, key: 2}`, possibly over lines).
    fn flow_key(&self, text: &str, key: &str) -> Option<Node> {
        let region = &text[self.start..self.end];
        let mut search = 0;
        while let Some(offset) = region[search..].find(key) {
            let at = search + offset;
            let before = region[..at].trim_end();
            let after = region[at + key.len()..].trim_start_matches([' ', '\t']);
            if (before.ends_with('{') || before.ends_with(',')) && after.starts_with(':') {
                let start = self.start + at;
                let value = start + key.len() + (region.len() - at - key.len() - after.len()) + 1;
                return Some(Node {
                    start,
                    end: flow_value_end(text, value, self.end),
                    column: start - line_start(text, start),
                    style: Style::Flow,
                });
            }
            search = at + key.len().max(1);
        }
        None
    }

    /// The `index`-th item of the list this node's key holds: block (`- ` lines) or flow (`[…]`).
    fn index(&self, text: &str, index: usize) -> Option<Node> {
        if let Some(open) = self.flow_list_start(text) {
            return flow_items(text, open, self.end).into_iter().nth(index);
        }
        if self.style == Style::Flow {
            return None;
        }
        let own_line = self.style == Style::Root;
        let mut items = lines_in(text, self.start, self.end)
            .skip(usize::from(!own_line))
            .filter(|(_, line)| is_content(line));
        let (first, line) = items.next()?;
        let dash = indent_of(line);
        if !is_dash(&line[dash..]) {
            return None;
        }
        let starts: Vec<usize> = std::iter::once(first)
            .chain(
                items
                    .take_while(|(_, l)| indent_of(l) >= dash)
                    .filter(|(_, l)| indent_of(l) == dash && is_dash(&l[dash..]))
                    .map(|(o, _)| o),
            )
            .collect();
        let start = *starts.get(index)?;
        let end = match starts.get(index + 1) {
            Some(next) => *next,
            None => block_end_from(text, start, dash).min(self.end),
        };
        Some(Node {
            start: start + dash,
            end,
            column: dash,
            style: Style::Item,
        })
    }

    /// Where `[` opens when this node's value is a flow list.
    fn flow_list_start(&self, text: &str) -> Option<usize> {
        let region = &text[self.start..self.end];
        let value = match self.style {
            Style::Root => region,
            _ => {
                let colon = region.find(':')?;
                &region[colon + 1..]
            }
        };
        let trimmed = value.trim_start();
        trimmed
            .starts_with('[')
            .then(|| self.end - value.len() + (value.len() - trimmed.len()))
    }
}

/// `- ` (or a lone `-`) opening a block list item.
fn is_dash(rest: &str) -> bool {
    rest == "-" || rest.starts_with("- ")
}

/// The lines overlapping `start..end`, each with the byte offset where it begins.
fn lines_in(text: &str, start: usize, end: usize) -> impl Iterator<Item = (usize, &str)> {
    let first = line_start(text, start);
    text[first..end]
        .split_inclusive('\n')
        .scan(first, |offset, line| {
            let at = *offset;
            *offset += line.len();
            Some((at, line.trim_end_matches(['\n', '\r'])))
        })
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// 1-based (line, column) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let line = text[..offset].matches('\n').count() + 1;
    (line, offset - line_start(text, offset) + 1)
}

/// One past the last byte of the block of the key at `column` on the line starting at `offset`:
/// the deeper lines below it, and the `- ` items at its own column (a list may be written at
/// its key's indentation).
fn block_end_from(text: &str, offset: usize, column: usize) -> usize {
    let mut lines = lines_in(text, offset, text.len());
    lines.next();
    for (at, line) in lines {
        if !is_content(line) {
            continue;
        }
        let indent = indent_of(line);
        if indent < column || (indent == column && !is_dash(&line[indent..])) {
            return at;
        }
    }
    text.len()
}

/// Walks a flow value from `from`: the end of its bracketed value, or of a plain scalar.
fn flow_value_end(text: &str, from: usize, limit: usize) -> usize {
    let rest = &text[from..limit];
    let skipped = rest.len() - rest.trim_start().len();
    let start = from + skipped;
    match text[start..limit].chars().next() {
        Some('{' | '[') => match_bracket(text, start, limit),
        _ => text[start..limit]
            .find([',', '}', ']', '\n'])
            .map_or(limit, |i| start + i),
    }
}

/// One past the bracket that closes the one at `open` (or `limit`).
fn match_bracket(text: &str, open: usize, limit: usize) -> usize {
    flow_scan(text, open, limit).0
}

/// The items of the flow list opening at `open`, each spanning its own bytes.
fn flow_items(text: &str, open: usize, limit: usize) -> Vec<Node> {
    flow_scan(text, open, limit)
        .1
        .into_iter()
        .filter_map(|(from, to)| {
            let body = &text[from..to];
            let start = from + (body.len() - body.trim_start().len());
            (!body.trim().is_empty()).then(|| Node {
                start,
                end: to,
                column: start - line_start(text, start),
                style: Style::Flow,
            })
        })
        .collect()
}

/// Reads the flow collection opening at `open`: one past its closing bracket (`limit` when it
/// does not close), and the byte ranges of its top-level items (split at commas). A quote opens
/// a quoted scalar only where a scalar starts (`{'a': "b"}`), so `Bob's` in a plain title does
/// not.
fn flow_scan(text: &str, open: usize, limit: usize) -> (usize, Vec<(usize, usize)>) {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut quote = None;
    let mut previous = ' ';
    let mut item_start = open + 1;
    for (i, c) in text[open..limit].char_indices() {
        let at = open + i;
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if matches!(previous, '{' | '[' | ',' | ':') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => {
                if depth == 1 {
                    items.push((item_start, at));
                    return (at + 1, items);
                }
                depth = depth.saturating_sub(1);
            }
            (None, ',') if depth == 1 => {
                items.push((item_start, at));
                item_start = at + 1;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            previous = c;
        }
    }
    (limit, items)
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

    const LISTS: &str = "report:
  figures:
    - {kind: line, x: a, y: m}
    - {kind: line, x: b, y: m, title: \"Bob's\", where: {x: 1}}
    - kind: heatmap
      x: c
      where:
        x: 2
  tables: [{rows: a, value: m}, {rows: b, value: m, where: {x: 3}}]
expect:
- threshold: {metric: m, above: 0}
- ordering:
    metric: m
    better: {x: 1}
";

    fn find(path: &[Step]) -> Option<(usize, usize)> {
        Location(path.to_vec()).find(LISTS)
    }

    fn k(key: &str) -> Step {
        Step::Key(key.into())
    }

    #[test]
    fn list_items_are_found_by_index_in_block_and_flow_lists() {
        let fig = |i| [k("report"), k("figures"), Step::Index(i)];
        assert_eq!(find(&fig(0)), Some((3, 5)));
        assert_eq!(
            find(&[&fig(1)[..], &[k("where"), k("x")]].concat()),
            Some((4, 56))
        );
        assert_eq!(find(&[&fig(1)[..], &[k("y")]].concat()), Some((4, 26)));
        assert_eq!(find(&[&fig(2)[..], &[k("x")]].concat()), Some((6, 7)));
        assert_eq!(
            find(&[&fig(2)[..], &[k("where"), k("x")]].concat()),
            Some((8, 9))
        );
        let table = |i| [k("report"), k("tables"), Step::Index(i)];
        assert_eq!(find(&table(1)), Some((9, 33)));
        assert_eq!(find(&[&table(1)[..], &[k("rows")]].concat()), Some((9, 34)));
        assert_eq!(
            find(&[&table(1)[..], &[k("where"), k("x")]].concat()),
            Some((9, 61))
        );
        // A list written at its key's own indentation.
        assert_eq!(
            find(&[
                k("expect"),
                Step::Index(1),
                k("ordering"),
                k("better"),
                k("x")
            ]),
            Some((14, 14))
        );
        assert_eq!(
            find(&[k("expect"), Step::Index(0), k("threshold"), k("above")]),
            Some((11, 26))
        );
    }

    #[test]
    fn a_place_not_written_is_shown_at_its_nearest_written_ancestor() {
        assert_eq!(
            find(&[k("report"), k("figures"), Step::Index(7), k("x")]),
            Some((2, 3))
        );
        assert_eq!(
            find(&[k("report"), k("figures"), Step::Index(0), k("series")]),
            Some((3, 5))
        );
        assert_eq!(find(&[k("sweep")]), None);
        // `x` is a key of figure 2 only nested under `where`; figure 0 has its own.
        assert_eq!(
            find(&[k("report"), k("figures"), Step::Index(0), k("x")]),
            Some((3, 20))
        );
    }

    #[test]
    fn locations_print_as_paths() {
        let place = Location::root()
            .key("report")
            .key("figures")
            .index(4)
            .key("series");
        assert_eq!(place.to_string(), "report.figures[4].series");
    }

    /// Any text, any path: an answer inside the text or none, never a panic (the walk slices
    /// bytes; a quote, bracket or multi-byte character in the wrong place must not break it).
    #[test]
    fn mutated_texts_never_panic_the_walk() {
        let alphabet: Vec<char> = "{}[],:-'\" #\n\t xé0".chars().collect();
        let paths = [
            Location::root()
                .key("report")
                .key("figures")
                .index(1)
                .key("where")
                .key("x"),
            Location::root()
                .key("report")
                .key("tables")
                .index(1)
                .key("rows"),
            Location::root()
                .key("expect")
                .index(1)
                .key("ordering")
                .key("better")
                .key("x"),
            Location::root().key("expect").index(0).index(2),
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n
        };
        for _ in 0..20_000 {
            let mut chars: Vec<char> = LISTS.chars().collect();
            for _ in 0..1 + next(8) {
                let at = next(chars.len() + 1);
                match next(3) {
                    0 if at < chars.len() => {
                        chars.remove(at);
                    }
                    _ => chars.insert(at, alphabet[next(alphabet.len())]),
                }
            }
            let text: String = chars.into_iter().collect();
            let lines = text.lines().count().max(1);
            for path in &paths {
                if let Some((line, column)) = path.find(&text) {
                    assert!(line >= 1 && line <= lines + 1 && column >= 1, "{text:?}");
                }
            }
        }
    }
}
