//! JUnit XML for CI test reporters (GitLab, Jenkins, GitHub actions that read JUnit): one
//! `testsuite` per spec, one `testcase` per claim. A claim that fails (or is fragile under other
//! seeds) carries a `failure` whose message holds the numbers compared; a claim of the paper that
//! does not reproduce, as the spec says, passes and says so in its `system-out`.

use crate::checks::{escape_controls, CheckOutcome};

/// Escape text for an XML attribute or element. Control characters are written visibly by the
/// one escape of check text ([`escape_controls`]), so no input makes the file unreadable; the
/// two non-characters XML 1.0 cannot hold become `?`.
fn xml_escape(text: &str) -> String {
    let text = escape_controls(text);
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit document for `specs`: (spec name, its checks in order).
pub fn junit_xml(specs: &[(String, Vec<CheckOutcome>)]) -> String {
    let total: usize = specs.iter().map(|(_, c)| c.len()).sum();
    let failures: usize = specs
        .iter()
        .map(|(_, c)| c.iter().filter(|c| c.fails()).count())
        .sum();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"subbench check\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\">\n"
    );
    for (spec, checks) in specs {
        let failed = checks.iter().filter(|c| c.fails()).count();
        let skipped = checks.iter().filter(|c| c.inconclusive).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\">\n",
            xml_escape(spec),
            checks.len()
        ));
        for check in checks {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">\n",
                xml_escape(spec),
                xml_escape(&check.description)
            ));
            let seeds = check
                .seeds_text()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            if check.ok() {
                out.push_str(&format!(
                    "      <system-out>{}{}: {}</system-out>\n",
                    check.verdict(),
                    xml_escape(&seeds),
                    xml_escape(&check.detail)
                ));
            } else if check.inconclusive {
                // Neither passed nor failed: test reporters show a skipped case with its reason.
                let message = format!("{}{seeds}: {}", check.verdict(), check.detail);
                out.push_str(&format!(
                    "      <skipped message=\"{}\"/>\n",
                    xml_escape(&message)
                ));
            } else {
                let message = format!("{}{seeds}: {}", check.verdict(), check.detail);
                out.push_str(&format!(
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                    xml_escape(&message),
                    check.verdict(),
                    xml_escape(&message)
                ));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::SeedTally;

    fn check(
        description: &str,
        passed: bool,
        refuted: bool,
        seeds: Option<(usize, usize)>,
    ) -> CheckOutcome {
        CheckOutcome {
            description: description.into(),
            passed,
            refuted,
            inconclusive: false,
            detail: "0.93 vs 0.91 <b>&</b>".into(),
            seeds: seeds.map(|(agreeing, total)| SeedTally { agreeing, total }),
        }
    }

    #[test]
    fn one_testcase_per_claim_and_failures_counted() {
        let xml = junit_xml(&[
            (
                "a".into(),
                vec![
                    check("threshold: mean of x < 1", true, false, Some((5, 5))),
                    check("ordering \"q\"", false, false, None),
                    check("not reproduced: y", true, true, None),
                ],
            ),
            ("b".into(), vec![check("trend", true, false, Some((4, 5)))]),
        ]);
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert_eq!(xml.matches("<testsuite ").count(), 2);
        // The plain failure and the fragile claim fail; the refuted claim does not.
        assert_eq!(xml.matches("<failure ").count(), 2);
        assert!(xml.contains("tests=\"4\" failures=\"2\""));
        assert!(xml.contains("type=\"FRAGILE\""));
        assert!(xml.contains("held in 4/5 seed sets"));
        assert!(xml.contains("ordering &quot;q&quot;"));
        assert!(xml.contains("&lt;b&gt;&amp;&lt;/b&gt;"));
        assert!(!xml.contains("<b>"));
    }

    #[test]
    fn control_characters_cannot_break_the_document() {
        assert_eq!(
            xml_escape("a\u{1}b\u{1b}c\td\u{fffe}"),
            "a\\x01b\\x1bc\\x09d?"
        );
    }
}
