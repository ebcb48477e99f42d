//! ShifCon on hidden states read from files, through the real binary: `write-states` writes the
//! synthetic model in the loader's format, a spec names the files, and the pipeline finds the
//! planted band. A changed file is never served from the cache; broken files are user errors.

mod common;

use std::fs;
use std::path::Path;

use common::{assert_user_error, stderr, stdout, subbench};

const SPEC: &str =
    "name: loaded\ntitle: Loaded\npaper: shifcon\nclaim: the band is found in files\n\
method: shifcon.distance\nseeds: 1\n\
params: {states: states/states.npy, labels: states/labels.csv, band_width: 3}\n\
metrics:\n  band_start: {}\n  band_end: {}\n\
expect:\n  - threshold: {metric: band_start, above: 11.5, below: 14.5}\n";

fn write_states(dir: &Path, seed: &str) {
    let out = subbench(
        dir,
        &[
            "write-states",
            "states",
            "--seed",
            seed,
            "--sentences",
            "80",
            "--layers",
            "20",
            "--width",
            "16",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn the_band_is_found_in_states_read_from_files_and_a_changed_file_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_states(d, "3");
    fs::write(d.join("loaded.yaml"), SPEC).unwrap();
    let out = subbench(d, &["check", "loaded.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("PASS loaded: threshold"),
        "{}",
        stdout(&out)
    );

    // Same files: nothing to run. A new draw into the same paths: the trial runs again.
    let again = subbench(d, &["run", "loaded.yaml", "--no-report"]);
    assert!(
        stderr(&again).contains("0 trials to run, 1 already stored"),
        "{}",
        stderr(&again)
    );
    write_states(d, "4");
    let changed = subbench(d, &["run", "loaded.yaml", "--no-report"]);
    assert!(
        stderr(&changed).contains("1 trials to run, 0 already stored"),
        "{}",
        stderr(&changed)
    );
}

#[test]
fn missing_and_malformed_state_files_are_user_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("loaded.yaml"), SPEC).unwrap();
    assert_user_error(
        &subbench(d, &["validate", "loaded.yaml"]),
        &["loaded.yaml:7", "states/states.npy", "cannot read"],
    );

    write_states(d, "3");
    let labels = d.join("states/labels.csv");
    let text = fs::read_to_string(&labels).unwrap();
    fs::write(&labels, text.replacen(",sw,", ",klingon,", 1)).unwrap();
    assert_user_error(
        &subbench(d, &["validate", "loaded.yaml"]),
        &[
            "labels.csv:",
            "language `klingon` is not supported",
            "en, zh",
        ],
    );

    fs::write(&labels, "sentence,language,group,label\n0,en,0,1\n").unwrap();
    assert_user_error(
        &subbench(d, &["run", "loaded.yaml"]),
        &["labels.csv", "sentence 1 has no label"],
    );
    fs::write(&labels, &text).unwrap();
    fs::write(d.join("states/states.npy"), b"not an npy file").unwrap();
    assert_user_error(
        &subbench(d, &["run", "loaded.yaml"]),
        &["states.npy", "is not a .npy file"],
    );
    assert!(
        !d.join("results/loaded").exists(),
        "nothing is written for a bad input"
    );

    // write-states refuses sizes it could not hold in memory, before allocating.
    assert_user_error(
        &subbench(
            d,
            &[
                "write-states",
                "big",
                "--sentences",
                "100000",
                "--layers",
                "1024",
                "--width",
                "4096",
            ],
        ),
        &["write-states would write", "GiB", "the limit is 4 GiB"],
    );
    assert_user_error(
        &subbench(d, &["write-states", "big", "--sentences", "2"]),
        &["--sentences in [4, 100000]"],
    );

    // Only one of the pair.
    fs::write(
        d.join("half.yaml"),
        SPEC.replace(", labels: states/labels.csv", "")
            .replace("name: loaded", "name: half"),
    )
    .unwrap();
    assert_user_error(
        &subbench(d, &["validate", "half.yaml"]),
        &["half.yaml", "`states` and `labels` go together"],
    );
}

/// The LDA picture runs on states read from files, records its points for the `embedding`
/// figure, and the authors' one-layer offset (vectors of states[L] added at states[L − 1]) is a
/// parameter of the loaded path only, with its bounds checked before anything runs.
#[test]
fn the_lda_picture_reads_files_and_the_shift_offset_belongs_to_loaded_states() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_states(d, "5");
    let lda = r#"name: lda
title: LDA
paper: shifcon
claim: the picture
method: shifcon.lda
seeds: 1
params: {states: states/states.npy, labels: states/labels.csv, layer: 3, points: 5}
sweep:
  grid:
    shift: [none, toward]
    shift_offset: [0, 1]
metrics:
  lda_accuracy: {}
  pictured_layer: {}
report:
  figures:
    - {kind: embedding, x: lda_x, y: lda_y, z: language, where: {shift: none, shift_offset: 0}}
expect:
  - agreement: {metric: pictured_layer, expr: "layer - shift_offset"}
  - threshold: {metric: lda_accuracy, where: {shift: toward, shift_offset: 0}, below: 0.3}
"#;
    fs::write(d.join("lda.yaml"), lda).unwrap();
    let out = subbench(d, &["check", "lda.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let figure = fs::read_to_string(d.join("reports/lda-figure-1.svg")).unwrap();
    for l in 0..6 {
        assert!(
            figure.contains(&format!("language {l}")),
            "language {l} is drawn"
        );
    }

    // On the synthetic model the offset means nothing: refused, one line.
    fs::write(
        d.join("synthetic.yaml"),
        lda.replace("states: states/states.npy, labels: states/labels.csv, ", "")
            .replace("name: lda", "name: synthetic"),
    )
    .unwrap();
    assert_user_error(
        &subbench(d, &["validate", "synthetic.yaml"]),
        &["synthetic.yaml", "`shift_offset` applies to loaded states"],
    );
    // Below layer 0.
    fs::write(
        d.join("low.yaml"),
        lda.replace("layer: 3", "layer: 0")
            .replace("name: lda", "name: low"),
    )
    .unwrap();
    assert_user_error(
        &subbench(d, &["validate", "low.yaml"]),
        &[
            "low.yaml",
            "`layer` 0 minus `shift_offset` 1 is below the first layer 0",
        ],
    );
}
