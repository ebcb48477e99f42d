//! The labels of a set of hidden states: languages, translation groups, task labels, split.

/// The labels of the rows that every layer shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    pub languages: Vec<String>,
    /// Index of the dominant language in `languages`.
    pub dominant: usize,
    /// Per row: index into `languages`.
    pub language: Vec<usize>,
    /// Per row: translation group (translations of one sentence share it).
    pub group: Vec<u64>,
    /// Per row: task class in `0..classes`.
    pub label: Vec<usize>,
    pub classes: usize,
    /// Per row: whether it trains probes and language vectors (else it tests them). Whole
    /// translation groups go to one side, so no sentence is tested on its own translation.
    pub train: Vec<bool>,
}

impl Corpus {
    /// Rows of `language` on the chosen side of the split, in order.
    pub fn rows(&self, language: usize, train: bool) -> Vec<usize> {
        (0..self.language.len())
            .filter(|&r| self.language[r] == language && self.train[r] == train)
            .collect()
    }

    /// All rows on the chosen side of the split, in order.
    pub fn split(&self, train: bool) -> Vec<usize> {
        (0..self.train.len())
            .filter(|&r| self.train[r] == train)
            .collect()
    }

    /// Languages other than the dominant one.
    pub fn others(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.languages.len()).filter(move |&l| l != self.dominant)
    }
}
