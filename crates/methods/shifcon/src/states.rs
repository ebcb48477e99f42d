//! Real hidden states from files: a `.npy` array `layers × sentences × width` (float64 or
//! float32) and a CSV with one row per sentence: `sentence,language,group,label`.
//!
//! A user who dumps a model's mean-pooled states in this form runs every ShifCon analysis on
//! them. Files are read once per process and shared by every trial that names them. The same
//! format is what [`write_states`] produces from the synthetic model, which proves the loader end
//! to end.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use ndarray::{Array2, Array3, Axis};
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyExt};
use subspace::SubspaceError;

use crate::corpus::Corpus;

/// Language codes a states file may use: those of the synthetic model and of MGSM, the paper's
/// benchmark. Per-language metrics are named after them (`task_gain_de`), so the set is fixed.
pub const LANGUAGE_CODES: &[&str] = Language::NAMES;

harness::choice! {
    /// A language code a states file (and the `dominant` parameter) may use.
    pub enum Language {
        En = "en", Zh = "zh", De = "de", Ru = "ru", Th = "th", Sw = "sw",
        Bn = "bn", Es = "es", Fr = "fr", Ja = "ja", Te = "te",
    }
}

/// Loaded states and their labels.
#[derive(Debug, Clone)]
pub struct LoadedStates {
    /// `layers × sentences × width`.
    pub states: Array3<f64>,
    pub corpus: Corpus,
}

/// Read (or reuse) the states and labels files; `dominant` names the dominant language.
/// Errors name the file, the line where there is one, and what is accepted.
pub fn load_cached(
    states: &Path,
    labels: &Path,
    dominant: &str,
) -> Result<Arc<LoadedStates>, String> {
    type Cache = Mutex<HashMap<(String, String, String), Arc<LoadedStates>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (
        states.display().to_string(),
        labels.display().to_string(),
        dominant.to_string(),
    );
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().expect("cache lock").get(&key) {
        return Ok(hit.clone());
    }
    let loaded = Arc::new(load(states, labels, dominant)?);
    cache
        .lock()
        .expect("cache lock")
        .insert(key, loaded.clone());
    Ok(loaded)
}

/// Read the states and labels files without caching.
pub fn load(
    states_path: &Path,
    labels_path: &Path,
    dominant: &str,
) -> Result<LoadedStates, String> {
    let shown = states_path.display();
    let bytes = std::fs::read(states_path).map_err(|e| format!("{shown}: cannot open: {e}"))?;
    datasets::npy::check_npy_size(&bytes).map_err(|why| format!("{shown}: {why}"))?;
    let states = match Array3::<f64>::read_npy(&bytes[..]) {
        Ok(a) => a,
        Err(ReadNpyError::WrongDescriptor(_)) => Array3::<f32>::read_npy(&bytes[..])
            .map_err(|e| npy_message(&shown.to_string(), e))?
            .mapv(f64::from),
        Err(e) => return Err(npy_message(&shown.to_string(), e)),
    };
    let (layers, sentences, width) = states.dim();
    if layers == 0 || sentences == 0 || width == 0 {
        return Err(format!(
            "{shown}: the array is {layers} × {sentences} × {width}; every axis (layers × sentences × width) must be non-empty"
        ));
    }
    if let Some((index, _)) = states.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(format!(
            "{shown}: non-finite value at layer {}, sentence {}, coordinate {}",
            index.0, index.1, index.2
        ));
    }
    let corpus = read_labels(labels_path, sentences, dominant)?;
    Ok(LoadedStates { states, corpus })
}

fn npy_message(shown: &str, e: ReadNpyError) -> String {
    match e {
        ReadNpyError::WrongDescriptor(descr) => format!(
            "{shown}: holds dtype {descr}; expected float64 or float32, e.g. np.save(path, states.astype(np.float32))"
        ),
        ReadNpyError::WrongNdim(_, got) => format!(
            "{shown}: is a {got}-D array; expected 3-D: layers × sentences × width"
        ),
        other => format!("{shown}: is not a readable .npy file: {other}"),
    }
}

fn read_labels(path: &Path, sentences: usize, dominant: &str) -> Result<Corpus, String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("{shown}: cannot open: {e}"))?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(BufReader::new(file));
    const COLUMNS: [&str; 4] = ["sentence", "language", "group", "label"];
    let header = reader
        .headers()
        .map_err(|e| format!("{shown}:1: not valid CSV: {e}"))?
        .clone();
    let column = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            format!(
                "{shown}:1: no `{name}` column; the header must name {}",
                COLUMNS.join(", ")
            )
        })
    };
    let [sentence_col, language_col, group_col, label_col] = [
        column("sentence")?,
        column("language")?,
        column("group")?,
        column("label")?,
    ];
    let mut rows: Vec<Option<(usize, u64, usize)>> = vec![None; sentences];
    let mut languages: Vec<String> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("{shown}: not valid CSV: {e}"))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("");
        let sentence: usize = field(sentence_col).parse().map_err(|_| {
            format!(
                "{shown}:{line}: sentence `{}` is not an index in 0..{sentences}",
                field(sentence_col)
            )
        })?;
        if sentence >= sentences {
            return Err(format!(
                "{shown}:{line}: sentence {sentence} is out of range; the states file has {sentences} sentences (0..{})",
                sentences - 1
            ));
        }
        let language = field(language_col);
        if !LANGUAGE_CODES.contains(&language) {
            return Err(format!(
                "{shown}:{line}: language `{language}` is not supported; use one of {}",
                LANGUAGE_CODES.join(", ")
            ));
        }
        let group: u64 = field(group_col).parse().map_err(|_| {
            format!(
                "{shown}:{line}: group `{}` is not a non-negative integer",
                field(group_col)
            )
        })?;
        let label: usize = field(label_col)
            .parse()
            .ok()
            .filter(|&l: &usize| l < 1000)
            .ok_or_else(|| {
                format!(
                    "{shown}:{line}: label `{}` is not a class index in 0..1000",
                    field(label_col)
                )
            })?;
        if rows[sentence].is_some() {
            return Err(format!(
                "{shown}:{line}: sentence {sentence} is labelled twice"
            ));
        }
        let index = match languages.iter().position(|l| l == language) {
            Some(i) => i,
            None => {
                languages.push(language.to_string());
                languages.len() - 1
            }
        };
        rows[sentence] = Some((index, group, label));
    }
    if let Some(missing) = rows.iter().position(Option::is_none) {
        return Err(format!(
            "{shown}: sentence {missing} has no label; every sentence 0..{} of the states file needs one row",
            sentences - 1
        ));
    }
    let rows: Vec<(usize, u64, usize)> = rows.into_iter().flatten().collect();
    let dominant_index = languages
        .iter()
        .position(|l| l == dominant)
        .ok_or_else(|| {
            format!(
            "{shown}: the dominant language `{dominant}` has no sentences; languages present: {}",
            languages.join(", ")
        )
        })?;
    if languages.len() < 2 {
        return Err(format!(
            "{shown}: only one language ({}); a shift needs at least two",
            languages[0]
        ));
    }
    let classes = rows.iter().map(|r| r.2).max().unwrap_or(0) + 1;
    let train: Vec<bool> = rows.iter().map(|r| r.1 % 2 == 0).collect();
    for (l, name) in languages.iter().enumerate() {
        for side in [true, false] {
            if !rows.iter().zip(&train).any(|(r, &t)| r.0 == l && t == side) {
                return Err(format!(
                    "{shown}: language {name} has no {} sentences (even groups train, odd groups test)",
                    if side { "training" } else { "test" }
                ));
            }
        }
    }
    Ok(Corpus {
        languages,
        dominant: dominant_index,
        language: rows.iter().map(|r| r.0).collect(),
        group: rows.iter().map(|r| r.1).collect(),
        label: rows.iter().map(|r| r.2).collect(),
        classes,
        train,
    })
}

/// Hidden states [`write_states`] can write (the synthetic model's, `crate::source::States`):
/// a trait, so that reading and writing files does not depend on where states come from.
pub trait WritableStates {
    fn corpus(&self) -> &Corpus;
    fn layers(&self) -> usize;
    /// `rows × width` states of layer `i < layers()`.
    fn layer(&self, i: usize) -> Result<Array2<f64>, SubspaceError>;
}

/// Write every layer of `states` as `states.npy` (float64) and the labels as `labels.csv` in
/// `dir`, the format [`load`] reads.
pub fn write_states(states: &impl WritableStates, dir: &Path) -> Result<(), String> {
    let corpus = states.corpus();
    let first = states.layer(0).map_err(|e| e.to_string())?;
    let mut all = Array3::zeros((states.layers(), first.nrows(), first.ncols()));
    for i in 0..states.layers() {
        let layer = states.layer(i).map_err(|e| e.to_string())?;
        all.index_axis_mut(Axis(0), i).assign(&layer);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let npy = dir.join("states.npy");
    let file = File::create(&npy).map_err(|e| format!("{}: {e}", npy.display()))?;
    all.write_npy(BufWriter::new(file))
        .map_err(|e| format!("{}: {e}", npy.display()))?;
    let csv_path = dir.join("labels.csv");
    let mut out = BufWriter::new(
        File::create(&csv_path).map_err(|e| format!("{}: {e}", csv_path.display()))?,
    );
    let io = |e: std::io::Error| format!("{}: {e}", csv_path.display());
    writeln!(out, "sentence,language,group,label").map_err(io)?;
    for r in 0..corpus.language.len() {
        writeln!(
            out,
            "{r},{},{},{}",
            corpus.languages[corpus.language[r]], corpus.group[r], corpus.label[r]
        )
        .map_err(io)?;
    }
    out.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Generator, States, World};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn world() -> States {
        let g = Generator {
            layers: 5,
            width: 8,
            sentences: 10,
            degradation: vec![0.0, 0.2, 0.3],
            planted_layer: 2.0,
            planted_width: 1.0,
            planted_depth: 0.85,
            code_scale: 6.0,
            code_rank: 2,
            spread: 0.5,
            mixing: 0.5,
            noise: 0.6,
        };
        States::Synthetic(Box::new(World::new(g, &mut ChaCha8Rng::seed_from_u64(9))))
    }

    #[test]
    fn written_states_load_back_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let states = world();
        write_states(&states, dir.path()).unwrap();
        let loaded = load(
            &dir.path().join("states.npy"),
            &dir.path().join("labels.csv"),
            "en",
        )
        .unwrap();
        assert_eq!(&loaded.corpus, states.corpus());
        for i in 0..5 {
            assert_eq!(
                loaded.states.index_axis(Axis(0), i),
                states.layer(i).unwrap()
            );
        }
    }

    #[test]
    fn bad_labels_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        write_states(&world(), dir.path()).unwrap();
        let labels = dir.path().join("labels.csv");
        let text = std::fs::read_to_string(&labels).unwrap();
        let cases = [
            (
                text.replacen("0,en,0,", "0,xx,0,", 1),
                "labels.csv:2: language `xx`",
            ),
            (
                text.replacen("\n3,", "\n1,", 1),
                "sentence 1 is labelled twice",
            ),
            (text.replace("group", "grp"), "no `group` column"),
            (
                text.replacen("\n7,", "\n700,", 1),
                "sentence 700 is out of range",
            ),
        ];
        for (bad, expected) in cases {
            std::fs::write(&labels, bad).unwrap();
            let err = load(&dir.path().join("states.npy"), &labels, "en").unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn a_header_promising_a_huge_array_is_an_error_not_an_abort() {
        let dir = tempfile::tempdir().unwrap();
        write_states(&world(), dir.path()).unwrap();
        let npy = dir.path().join("states.npy");
        let mut bytes = std::fs::read(&npy).unwrap();
        // Regression: a header promising more than the file holds aborted on the allocation.
        // Patch the shape in place (same length keeps the header valid): (5, 30, 8) → (9, 30, 8).
        let key = b"'shape': (";
        let at = bytes.windows(key.len()).position(|w| w == key).unwrap() + key.len();
        bytes[at] = b'9';
        let header = String::from_utf8_lossy(&bytes[..128]).to_string();
        assert!(header.contains("(9,"), "{header}");
        std::fs::write(&npy, &bytes).unwrap();
        let err = load(&npy, &dir.path().join("labels.csv"), "en").unwrap_err();
        assert!(err.contains("declares shape (9, 30, 8)"), "{err}");
    }

    #[test]
    fn wrong_arrays_are_rejected_with_the_accepted_shape() {
        let dir = tempfile::tempdir().unwrap();
        write_states(&world(), dir.path()).unwrap();
        let npy = dir.path().join("flat.npy");
        ndarray::Array2::<f64>::zeros((3, 4))
            .write_npy(File::create(&npy).unwrap())
            .unwrap();
        let err = load(&npy, &dir.path().join("labels.csv"), "en").unwrap_err();
        assert!(err.contains("expected 3-D"), "{err}");
        let mut nan = Array3::<f32>::zeros((5, 30, 8));
        nan[(1, 2, 3)] = f32::NAN;
        nan.write_npy(File::create(&npy).unwrap()).unwrap();
        let err = load(&npy, &dir.path().join("labels.csv"), "en").unwrap_err();
        assert!(err.contains("layer 1, sentence 2, coordinate 3"), "{err}");
    }
}
