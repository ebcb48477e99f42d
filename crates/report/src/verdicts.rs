//! What `check` says about the specs it checked: a line per claim, the totals, and the Markdown
//! table a CI job posts (the JUnit XML is [`crate::junit`]).

use std::fmt::Write as _;

use crate::checks::escape_controls;
use crate::tables::markdown_escape;
use crate::CheckOutcome;

/// The checks of each spec, by spec name, in the order they were checked.
pub type Checked = [(String, Vec<CheckOutcome>)];

/// How many checks passed, failed, and were claims the specs say do not reproduce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckTotals {
    pub passed: usize,
    pub failed: usize,
    /// `refuted` claims that still fail, as their specs say (a fragile or holding one failed).
    pub refuted: usize,
    /// `refuted` claims the data can neither confirm nor exclude (not counted as failed).
    pub inconclusive: usize,
}

impl CheckTotals {
    pub fn of(checked: &Checked) -> Self {
        let mut totals = CheckTotals::default();
        for c in checked.iter().flat_map(|(_, checks)| checks) {
            match (c.ok(), c.refuted) {
                _ if c.inconclusive => totals.inconclusive += 1,
                (true, false) => totals.passed += 1,
                (true, true) => totals.refuted += 1,
                (false, _) => totals.failed += 1,
            }
        }
        totals
    }

    /// The last line of `check`.
    pub fn line(&self) -> String {
        let inconclusive = if self.inconclusive > 0 {
            format!(
                ", {} inconclusive (refuted claims the data can neither confirm nor exclude)",
                self.inconclusive
            )
        } else {
            String::new()
        };
        format!(
            "{} passed, {} failed{inconclusive}, {} claims of the papers not reproduced (as the specs say)",
            self.passed, self.failed, self.refuted
        )
    }
}

/// ` (held in 4/5 seed sets)` when the check was reseeded, else nothing.
fn seeds(c: &CheckOutcome) -> String {
    c.seeds_text()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default()
}

/// The terminal (and log) line of one check of spec `spec`, control characters escaped.
pub fn check_line(spec: &str, c: &CheckOutcome) -> String {
    escape_controls(&format!(
        "{} {spec}: {}{} — {}",
        c.verdict(),
        c.description,
        seeds(c),
        c.detail
    ))
}

/// `check --markdown`: a table of every check, then the totals.
pub fn check_markdown(checked: &Checked) -> String {
    let mut markdown = String::from(
        "# subbench check\n\n| spec | check | result | details |\n|---|---|---|---|\n",
    );
    for (spec, checks) in checked {
        for c in checks {
            let _ = writeln!(
                markdown,
                "| {spec} | {} | {}{} | {} |",
                markdown_escape(&c.description),
                c.verdict(),
                seeds(c),
                markdown_escape(&c.detail)
            );
        }
    }
    let _ = writeln!(markdown, "\n{}", CheckTotals::of(checked).line());
    markdown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeedTally;

    fn outcome(passed: bool, refuted: bool, seeds: Option<(usize, usize)>) -> CheckOutcome {
        CheckOutcome {
            description: "threshold: mean of value < 1 | <b>".into(),
            passed,
            refuted,
            inconclusive: false,
            detail: "1 groups\nworst 0.5".into(),
            seeds: seeds.map(|(agreeing, total)| SeedTally { agreeing, total }),
        }
    }

    #[test]
    fn totals_count_fragile_claims_as_failed() {
        let checked = vec![
            (
                "a".to_string(),
                vec![
                    outcome(true, false, None),
                    outcome(false, false, None),
                    outcome(true, true, None),
                ],
            ),
            ("b".to_string(), vec![outcome(true, false, Some((4, 5)))]),
        ];
        let totals = CheckTotals::of(&checked);
        assert_eq!(
            totals,
            CheckTotals {
                passed: 1,
                failed: 2,
                refuted: 1,
                inconclusive: 0
            }
        );
        let markdown = check_markdown(&checked);
        assert!(
            markdown.starts_with("# subbench check\n\n| spec |"),
            "{markdown}"
        );
        assert!(
            markdown.contains(
                "| b | threshold: mean of value &lt; 1 \\| &lt;b&gt; | FRAGILE (held in 4/5 seed sets) | 1 groups worst 0.5 |\n"
            ),
            "{markdown}"
        );
        assert!(
            markdown.ends_with(&format!("\n\n{}\n", totals.line())),
            "{markdown}"
        );
        assert_eq!(
            check_line("a", &checked[0].1[1]),
            "FAIL a: threshold: mean of value < 1 | <b> — 1 groups\\x0aworst 0.5"
        );
    }
}
