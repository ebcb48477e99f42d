//! Why trials failed, grouped: the same cause said once with its count (`16 trials of
//! scipy.subspace_angles failed: ModuleNotFoundError: No module named 'scipy' (first of 16
//! identical errors)`), instead of one line per trial. Used at the end of `run` and `check`, and
//! by verdicts over groups without ok trials.

use harness::{Status, TrialRecord};

/// A cause's line is cut here (a traceback is not a headline).
const HEADLINE_CHARS: usize = 300;

/// Failed trials of one method of one spec that share a cause.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureGroup {
    pub spec: String,
    pub method: String,
    pub count: usize,
    /// The first failure's cause (see [`headline`]).
    pub headline: String,
    /// Whether every cause of the group reads the same; otherwise they differ in numbers only
    /// (a time, a process id).
    pub identical: bool,
    pub first_trial: String,
}

impl FailureGroup {
    /// `16 trials of m failed: cause (first of 16 identical errors; trial 1a2b)`.
    pub fn line(&self) -> String {
        let trials = if self.count == 1 { "trial" } else { "trials" };
        let first = if self.count == 1 {
            format!("trial {}", self.first_trial)
        } else {
            format!(
                "first of {} {} errors: trial {}",
                self.count,
                if self.identical {
                    "identical"
                } else {
                    "similar"
                },
                self.first_trial
            )
        };
        format!(
            "{}: {} {trials} of {} failed: {} ({first})",
            self.spec, self.count, self.method, self.headline
        )
    }
}

/// The failed records' causes, most frequent first (ties in order of first appearance).
pub fn group_failures<'a>(records: impl IntoIterator<Item = &'a TrialRecord>) -> Vec<FailureGroup> {
    let mut groups: Vec<(String, FailureGroup)> = Vec::new();
    for r in records.into_iter().filter(|r| r.status != Status::Ok) {
        let cause = headline(r.status, r.error.as_deref().unwrap_or(""));
        let key = format!(
            "{}\u{0}{}\u{0}{}",
            r.spec,
            r.method,
            without_numbers(&cause)
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => {
                group.count += 1;
                group.identical &= group.headline == cause;
            }
            None => groups.push((
                key,
                FailureGroup {
                    spec: r.spec.clone(),
                    method: r.method.clone(),
                    count: 1,
                    headline: cause,
                    identical: true,
                    first_trial: r.trial_id.clone(),
                },
            )),
        }
    }
    let mut groups: Vec<FailureGroup> = groups.into_iter().map(|(_, g)| g).collect();
    // Stable: equal counts keep their first appearance's order.
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    groups
}

/// At most `shown` groups' lines, then one line for the rest.
pub fn summary_lines(groups: &[FailureGroup], shown: usize) -> Vec<String> {
    let mut lines: Vec<String> = groups.iter().take(shown).map(FailureGroup::line).collect();
    if groups.len() > shown {
        let rest = &groups[shown..];
        lines.push(format!(
            "… and {} other causes over {} trials (every error is in the store's trials.csv)",
            rest.len(),
            rest.iter().map(|g| g.count).sum::<usize>()
        ));
    }
    lines
}

/// A failure's cause in one line: the message before the worker's stderr, and the stderr's last
/// line (where a traceback names the exception); control characters escaped, cut to a page's
/// width.
pub fn headline(status: Status, error: &str) -> String {
    let (message, stderr) = match error.split_once("; stderr: ") {
        Some((m, s)) => (m, Some(s)),
        None => (error, None),
    };
    let mut text = message.lines().next().unwrap_or("").trim().to_string();
    if let Some(last) = stderr.and_then(|s| s.lines().map(str::trim).rfind(|l| !l.is_empty())) {
        if !text.contains(last) {
            text = format!("{text} … {last}");
        }
    }
    if text.is_empty() {
        text = format!("status {status:?} without a message").to_lowercase();
    }
    let mut shown: String = text
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .take(HEADLINE_CHARS)
        .collect();
    if text.chars().count() > HEADLINE_CHARS {
        shown.push('…');
    }
    shown
}

/// Digits masked, so that causes differing only in a time or a pid group together.
fn without_numbers(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(id: &str, method: &str, error: &str) -> TrialRecord {
        TrialRecord {
            trial_id: id.into(),
            order: 0,
            spec: "s".into(),
            method: method.into(),
            method_code: String::new(),
            rep: 0,
            seed: 0,
            status: Status::Error,
            error: Some(error.into()),
            elapsed_s: 0.0,
            params: Default::default(),
            metrics: Default::default(),
            curves: Default::default(),
        }
    }

    #[test]
    fn identical_causes_are_one_line_with_their_count_most_frequent_first() {
        let import = "the worker exited with status 1 before replying; stderr: Traceback (most recent call last):\n  File \"w.py\", line 1\nModuleNotFoundError: No module named 'scipy'";
        let mut records: Vec<TrialRecord> = (0..3)
            .map(|i| failed(&format!("t{i}"), "a.b", import))
            .collect();
        records.push(failed("u", "a.b", "no reply after 1.2 s; killed"));
        records.push(failed("v", "a.b", "no reply after 1.3 s; killed"));
        records.push(failed("w", "a.b", "no reply after 1.4 s; killed"));
        records.push(failed("x", "c.d", "boom"));
        let groups = group_failures(&records);
        assert_eq!(groups.len(), 3);
        assert_eq!(
            groups[0].line(),
            "s: 3 trials of a.b failed: the worker exited with status 1 before replying … ModuleNotFoundError: No module named 'scipy' (first of 3 identical errors: trial t0)"
        );
        assert_eq!(groups[1].count, 3);
        assert!(!groups[1].identical);
        assert!(groups[1]
            .line()
            .contains("first of 3 similar errors: trial u"));
        assert_eq!(groups[2].line(), "s: 1 trial of c.d failed: boom (trial x)");
        let lines = summary_lines(&groups, 2);
        assert_eq!(lines.len(), 3);
        assert!(
            lines[2].contains("1 other causes over 1 trials"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn a_headline_escapes_control_characters_and_is_cut() {
        let h = headline(Status::Error, &format!("a\u{1b}[2Kb{}", "x".repeat(1000)));
        assert!(h.starts_with("a\\u{1b}[2Kb"), "{h}");
        assert!(h.chars().count() <= HEADLINE_CHARS + 1);
    }
}
