//! The papers subbench reproduces: `references.yaml` at the repository root, compiled into the
//! binary so that a spec's `paper:` is checked against the one list wherever the binary runs.
//! Each paper is cited there once; pages, `reports/references.bib` and bundles read it here.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The file, as compiled in.
const REFERENCES: &str = include_str!("../../../references.yaml");

/// One paper, as `references.yaml` cites it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paper {
    pub title: String,
    /// Family names, in the paper's order; `others` stands for "et al.".
    pub authors: Vec<String>,
    pub year: u32,
    pub venue: String,
    /// `article`, `inproceedings` or `preprint` (the BibTeX entry type follows from it).
    pub kind: String,
    #[serde(default)]
    pub arxiv: Option<String>,
    #[serde(default)]
    pub doi: Option<String>,
    pub url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct References {
    papers: BTreeMap<String, Paper>,
    /// Keys a spec may name that are not a paper (comparisons, tests), with what a page says.
    not_papers: BTreeMap<String, String>,
}

fn references() -> &'static References {
    static PARSED: OnceLock<References> = OnceLock::new();
    PARSED.get_or_init(|| {
        serde_norway::from_str(REFERENCES)
            .expect("references.yaml is valid (a unit test parses it)")
    })
}

/// What a spec's `paper:` names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reproduces {
    Paper(&'static Paper),
    /// Not a paper: the sentence a page shows instead.
    Nothing(&'static str),
}

/// What `key` names, or `None` when it is not in `references.yaml`.
pub fn lookup(key: &str) -> Option<Reproduces> {
    let refs = references();
    refs.papers
        .get(key)
        .map(Reproduces::Paper)
        .or_else(|| refs.not_papers.get(key).map(|s| Reproduces::Nothing(s)))
}

/// The message for a `paper:` that names nothing known.
pub fn unknown(key: &str) -> String {
    let refs = references();
    let keys: Vec<&str> = refs
        .papers
        .keys()
        .chain(refs.not_papers.keys())
        .map(String::as_str)
        .collect();
    format!(
        "paper `{key}` is not in references.yaml; known: {}{}",
        keys.join(", "),
        crate::error::did_you_mean(key, keys.iter().copied())
    )
}

impl Paper {
    /// Authors as a reader writes them: `A, B and C`, `A et al.`.
    pub fn author_line(&self) -> String {
        let named: Vec<&str> = self
            .authors
            .iter()
            .map(String::as_str)
            .filter(|a| *a != "others")
            .collect();
        let etal = named.len() < self.authors.len();
        match (named.as_slice(), etal) {
            ([one], true) => format!("{one} et al."),
            (names, true) => format!("{} et al.", names.join(", ")),
            ([one], false) => one.to_string(),
            ([rest @ .., last], false) => format!("{} and {last}", rest.join(", ")),
            ([], _) => String::new(),
        }
    }

    /// One line: authors, title, venue, year, identifier.
    pub fn citation(&self) -> String {
        let id = match (&self.arxiv, &self.doi) {
            (_, Some(doi)) => format!("doi:{doi}"),
            (Some(arxiv), None) => format!("arXiv:{arxiv}"),
            (None, None) => self.url.clone(),
        };
        format!(
            "{}. {}. {}, {}. {id}.",
            self.author_line(),
            self.title,
            self.venue,
            self.year
        )
    }

    /// The BibTeX entry, keyed `key` (the spec's `paper:`).
    pub fn bibtex(&self, key: &str) -> String {
        let kind = match self.kind.as_str() {
            "article" => "article",
            "inproceedings" => "inproceedings",
            _ => "misc",
        };
        let venue_field = match kind {
            "article" => "journal",
            "inproceedings" => "booktitle",
            _ => "howpublished",
        };
        let mut fields = vec![
            ("title", format!("{{{}}}", self.title)),
            ("author", self.authors.join(" and ")),
            ("year", self.year.to_string()),
            (venue_field, self.venue.clone()),
            ("url", self.url.clone()),
        ];
        if let Some(arxiv) = &self.arxiv {
            fields.push(("eprint", arxiv.clone()));
            fields.push(("archivePrefix", "arXiv".into()));
        }
        if let Some(doi) = &self.doi {
            fields.push(("doi", doi.clone()));
        }
        let body: Vec<String> = fields
            .into_iter()
            .map(|(k, v)| format!("  {k} = {{{v}}},"))
            .collect();
        format!("@{kind}{{{key},\n{}\n}}\n", body.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_cite_the_five_papers_once() {
        let refs = references();
        assert_eq!(
            refs.papers.keys().collect::<Vec<_>>(),
            ["attack", "colora", "csl", "layerwise", "shifcon"]
        );
        let arxiv: std::collections::HashSet<_> =
            refs.papers.values().map(|p| p.arxiv.clone()).collect();
        assert_eq!(arxiv.len(), 5, "a paper is cited twice");
        for (key, paper) in &refs.papers {
            assert!(paper.url.starts_with("https://"), "{key}");
            assert!(paper.bibtex(key).starts_with('@'));
        }
        assert!(refs.not_papers.keys().all(|k| !refs.papers.contains_key(k)));
    }

    #[test]
    fn author_lines() {
        let Some(Reproduces::Paper(p)) = lookup("shifcon") else {
            panic!("shifcon is a paper")
        };
        assert_eq!(p.author_line(), "Zhang et al.");
        let Some(Reproduces::Paper(p)) = lookup("attack") else {
            panic!("attack is a paper")
        };
        assert_eq!(p.author_line(), "Li, Lai and Cui");
        assert!(lookup("nope").is_none());
        assert!(unknown("atack").contains("attack"));
    }
}
