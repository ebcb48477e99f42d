//! `subbench summary`: the aggregated table of one store as Markdown, CSV or JSON, and the line
//! that says which trials it shows.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use harness::spec::{load_spec, LoadOptions};
use harness::{Registry, Spec};

use harness::store::schema::SPEC_FILE;
use harness::Store;

use crate::pipeline::current_ids;
use crate::tables::markdown_escape;
use crate::{aggregate, Aggregate, ReportError};

/// How [`write_summary`] writes the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryFormat {
    Markdown,
    Csv,
    Json,
}

/// One store aggregated for `summary`.
pub struct StoreSummary {
    pub agg: Aggregate,
    /// The store's spec when it loads: then only its current trials are shown.
    pub spec: Option<Spec>,
    /// Why stored trials are not shown (an input file or a method's code changed).
    pub left_out: Vec<String>,
    dir: PathBuf,
}

/// The trials of the store `dir` as `report` shows them: those of its stored spec's expansion
/// (stale trials of an edited spec, and the extra seeds of a full run beside a quick one, are
/// left out); every stored trial when the spec is missing or no longer loads.
pub fn summarize(dir: &Path, registry: &Registry) -> Result<StoreSummary, ReportError> {
    let spec = load_spec(&dir.join(SPEC_FILE), registry, LoadOptions::default()).ok();
    let (ids, left_out) = match &spec {
        Some(spec) => {
            let records = Store::at(dir).load()?;
            let ids = current_ids(spec, &records);
            let mut left_out = spec.changed_inputs(&records);
            left_out.extend(spec.changed_code(&records));
            (Some(ids), left_out)
        }
        None => (None, Vec::new()),
    };
    let interval = spec.as_ref().map(|s| s.report.interval).unwrap_or_default();
    let agg = aggregate(dir, ids.as_ref(), interval)?;
    Ok(StoreSummary {
        agg,
        spec,
        left_out,
        dir: dir.to_path_buf(),
    })
}

impl StoreSummary {
    /// One line saying which trials the table shows, and why.
    pub fn what_it_shows(&self) -> String {
        let shown: usize = self.agg.groups.iter().map(|g| g.n_trials).sum();
        let spec_file = self.dir.join(SPEC_FILE);
        match &self.spec {
            Some(spec) => {
                let mut line = format!(
                    "{}: the {shown} stored trials of spec `{}` as stored in {} (the full sweep, {} seeds per point; other stored trials are left out)",
                    self.dir.display(),
                    spec.name,
                    spec_file.display(),
                    spec.seeds
                );
                for why in &self.left_out {
                    line.push_str("; ");
                    line.push_str(why);
                }
                line
            }
            None => format!(
                "{}: every stored trial ({shown}): {} is missing or no longer loads, so nothing tells current trials from stale ones",
                self.dir.display(),
                spec_file.display()
            ),
        }
    }
}

/// The columns of the table: the varying parameters, the trial counts, then eight statistics
/// per metric.
fn header(agg: &Aggregate) -> Vec<String> {
    let mut header: Vec<String> = agg.keys.clone();
    header.extend(["n_trials".into(), "n_failed".into()]);
    for m in &agg.metrics {
        for s in [
            "n", "mean", "std", "median", "min", "max", "ci_low", "ci_high",
        ] {
            header.push(format!("{m}_{s}"));
        }
    }
    header
}

/// The cells of each group, in the order of [`header`]. Numbers are written with `{:?}` (the
/// shortest text that reads back to the same `f64`); a metric a group lacks is empty.
fn rows(agg: &Aggregate) -> impl Iterator<Item = Vec<String>> + '_ {
    agg.groups.iter().map(|g| {
        let mut cells: Vec<String> = g.key.iter().map(|v| v.to_string()).collect();
        cells.extend([g.n_trials.to_string(), g.n_failed.to_string()]);
        for m in &agg.metrics {
            match g.metrics.get(m) {
                Some(s) => {
                    cells.push(s.n.to_string());
                    cells.extend(
                        [s.mean, s.std, s.median, s.min, s.max, s.ci_low, s.ci_high]
                            .map(|x| format!("{x:?}")),
                    );
                }
                None => cells.extend(std::iter::repeat_n(String::new(), 8)),
            }
        }
        cells
    })
}

/// The table of `agg` in `format`, ending with a line break.
pub fn write_summary(agg: &Aggregate, format: SummaryFormat) -> Result<String, ReportError> {
    let failed = |e: &dyn std::fmt::Display| ReportError::Data(format!("summary: {e}"));
    match format {
        SummaryFormat::Json => {
            let mut text = serde_json::to_string_pretty(agg).map_err(|e| failed(&e))?;
            text.push('\n');
            Ok(text)
        }
        SummaryFormat::Csv => {
            // Cells with a comma, quote or line break (list values such as [3.0,1.0], names
            // with a newline) are quoted, quotes doubled: RFC 4180, as the csv crate writes it.
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(header(agg)).map_err(|e| failed(&e))?;
            for cells in rows(agg) {
                writer.write_record(cells).map_err(|e| failed(&e))?;
            }
            let bytes = writer.into_inner().map_err(|e| failed(&e))?;
            String::from_utf8(bytes).map_err(|e| failed(&e))
        }
        SummaryFormat::Markdown => {
            let line = |cells: Vec<String>| {
                let cells: Vec<String> = cells.iter().map(|c| markdown_escape(c)).collect();
                format!("| {} |\n", cells.join(" | "))
            };
            let header = header(agg);
            let mut out = line(header.clone());
            let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
            for cells in rows(agg) {
                out.push_str(&line(cells));
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use harness::Value;

    use super::*;
    use crate::{Group, Stats};

    fn table() -> Aggregate {
        let stats = Stats {
            n: 2,
            mean: 0.5,
            std: 0.1,
            median: 0.5,
            min: 0.4,
            max: 0.6,
            ci_low: f64::NAN,
            ci_high: 1e300,
        };
        Aggregate {
            keys: vec!["label".into()],
            metrics: vec!["value".into(), "other".into()],
            groups: vec![
                Group {
                    key: vec![Value::Str("a,\"b\"\nc|d".into())],
                    absent: vec![false],
                    n_trials: 2,
                    n_failed: 0,
                    metrics: HashMap::from([("value".to_string(), stats)]),
                },
                Group {
                    key: vec![Value::Str("plain".into())],
                    absent: vec![false],
                    n_trials: 1,
                    n_failed: 1,
                    metrics: HashMap::new(),
                },
            ],
            constants: Vec::new(),
            failures: Vec::new(),
        }
    }

    #[test]
    fn csv_quotes_separators_quotes_and_line_breaks_and_reads_back() {
        let text = write_summary(&table(), SummaryFormat::Csv).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header.len(), 1 + 2 + 2 * 8);
        assert_eq!(header[3], "value_n");
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][0], "a,\"b\"\nc|d");
        assert_eq!(&rows[0][4], "0.5");
        assert_eq!(&rows[0][9], "NaN");
        assert_eq!(&rows[0][10], "1e300");
        assert_eq!(&rows[1][3], "");
        assert!(
            text.starts_with("label,n_trials,n_failed,value_n,"),
            "{text}"
        );
        assert!(text.contains("\"a,\"\"b\"\"\nc|d\",2,0,2,0.5,"), "{text}");
        assert!(text.ends_with("plain,1,1,,,,,,,,,,,,,,,,\n"), "{text}");
    }

    /// The JSON summary wrote each group's metrics in the order of a `HashMap`, which changes
    /// from one process to the next: the same store gave different bytes every time.
    #[test]
    fn json_writes_metrics_in_name_order() {
        let mut agg = table();
        let names = ["e", "b", "d", "a", "c", "f", "h", "g"];
        let stats = agg.groups[0].metrics["value"];
        agg.groups[0].metrics = names.iter().map(|n| (n.to_string(), stats)).collect();
        let text = write_summary(&agg, SummaryFormat::Json).unwrap();
        let at = |name: &str| text.find(&format!("\"{name}\": {{")).unwrap();
        let mut sorted = names;
        sorted.sort();
        assert!(sorted.windows(2).all(|w| at(w[0]) < at(w[1])), "{text}");
    }

    #[test]
    fn markdown_escapes_pipes_and_line_breaks() {
        let text = write_summary(&table(), SummaryFormat::Markdown).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("| label | n_trials | n_failed | value_n |"));
        assert_eq!(lines[1], format!("|{}", "---|".repeat(19)));
        assert!(
            lines[2].starts_with("| a,\"b\" c\\|d | 2 | 0 | 2 | 0.5 |"),
            "{text}"
        );
    }
}
