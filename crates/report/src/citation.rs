//! What a page says about where its result comes from and whether it was checked: the paper a
//! spec reproduces (from `references.yaml`, see [`harness::papers`]), the BibTeX of every paper
//! with a page (`reports/references.bib`), and the store's last `subbench verify`.

use std::collections::BTreeSet;
use std::path::Path;

use harness::papers::{lookup, Reproduces};
use serde::Serialize;

use crate::page::SpecSummary;
use crate::ReportError;

/// The file `report` writes beside the index.
pub const REFERENCES_BIB: &str = "references.bib";

/// The citation line of a page.
#[derive(Debug, Clone, Serialize)]
pub struct Citation {
    pub text: String,
    /// The paper's address, when it is a paper.
    pub url: Option<String>,
}

pub fn citation(paper: &str) -> Option<Citation> {
    match lookup(paper)? {
        Reproduces::Paper(p) => Some(Citation {
            text: p.citation(),
            url: Some(p.url.clone()),
        }),
        Reproduces::Nothing(why) => Some(Citation {
            text: format!("This spec {why}."),
            url: None,
        }),
    }
}

/// When the store was last verified and with what result, or that it never was.
pub fn verification(store_dir: &Path) -> String {
    let Some((v, ended)) = harness::provenance::last_verification(store_dir) else {
        return "never: `subbench verify` re-runs a sample of the stored trials and compares them bit for bit".into();
    };
    let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
    let verdict = if n("fail") > 0 { "FAIL" } else { "PASS" };
    format!(
        "{ended}: {verdict}, {} trials re-run (sample {}): {} pass, {} fail, {} skip",
        n("trials"),
        v.get("sample").and_then(|s| s.as_str()).unwrap_or("?"),
        n("pass"),
        n("fail"),
        n("skip")
    )
}

/// `out/references.bib`: the BibTeX of every paper that has a page among `summaries`.
pub fn write_references(summaries: &[SpecSummary], out: &Path) -> Result<(), ReportError> {
    let keys: BTreeSet<&str> = summaries.iter().map(|s| s.paper.as_str()).collect();
    let bib: String = keys
        .into_iter()
        .filter_map(|key| match lookup(key)? {
            Reproduces::Paper(p) => Some(p.bibtex(key)),
            Reproduces::Nothing(_) => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = out.join(REFERENCES_BIB);
    std::fs::write(&path, bib).map_err(|e| ReportError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}
