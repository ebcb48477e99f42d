//! `subbench angles` and `subbench distance` on files: accuracy on the mixed-angle cases and one
//! clear line with exit code 2 for every bad input.

mod common;

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};
use std::fs;
use std::path::Path;

use common::{assert_user_error, stdout, subbench};
use ndarray::Array2;
use ndarray_npy::WriteNpyExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use subspace::{haar_orthonormal, matrix_with_condition, subspace_pair_with_angles};

fn write_npy(path: &Path, m: &Array2<f64>) {
    m.write_npy(fs::File::create(path).unwrap()).unwrap();
}

fn write_csv(path: &Path, m: &Array2<f64>) {
    let text: Vec<String> = m
        .rows()
        .into_iter()
        .map(|r| {
            r.iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    fs::write(path, text.join("\n")).unwrap();
}

#[test]
fn mixed_angles_are_printed_accurately_and_round_trip() {
    let truth = [
        1e-10,
        1e-8,
        1e-5,
        FRAC_PI_4 - 1e-9,
        FRAC_PI_4 + 1e-9,
        1.5,
        FRAC_PI_2 - 1e-9,
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let cond = 100.0;
    let pair = subspace_pair_with_angles(30, 7, 7, &truth, &mut rng).unwrap();
    let rotation = haar_orthonormal(30, 30, &mut rng).unwrap();
    let a = rotation
        .dot(&pair.a)
        .dot(&matrix_with_condition(7, cond, &mut rng).unwrap());
    let b = rotation
        .dot(&pair.b)
        .dot(&matrix_with_condition(7, cond, &mut rng).unwrap());
    write_npy(&dir.path().join("a.npy"), &a);
    write_csv(&dir.path().join("b.csv"), &b);
    let out = subbench(dir.path(), &["angles", "a.npy", "b.csv"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let got: Vec<f64> = stdout(&out).lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(got.len(), truth.len());
    // The CSV holds shortest round-trip decimals, so b is read back exactly.
    let bound = 100.0 * f64::EPSILON * cond;
    for (g, t) in got.iter().zip(truth) {
        assert!((g - t).abs() <= bound, "{g} vs {t}");
    }

    let json_angles = |args: &[&str]| {
        let out = subbench(dir.path(), args);
        let value: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let angles: Vec<f64> = value["angles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        (angles, value)
    };
    let (from_json, _) = json_angles(&["angles", "a.npy", "b.csv", "--json"]);
    assert_eq!(from_json, got, "JSON and text print the same f64s");
    // With vectors LAPACK takes another path: same accuracy, not the same last bits.
    let (with_vectors, value) = json_angles(&["angles", "a.npy", "b.csv", "--json", "--vectors"]);
    assert!(with_vectors
        .iter()
        .zip(truth)
        .all(|(g, t)| (g - t).abs() <= bound));
    assert_eq!(value["vectors"]["a"].as_array().unwrap().len(), 7);
}

#[test]
fn distance_prints_one_number_or_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let pair = subspace_pair_with_angles(10, 2, 2, &[0.3, 0.4], &mut rng).unwrap();
    write_npy(&dir.path().join("a.npy"), &pair.a);
    write_npy(&dir.path().join("b.npy"), &pair.b);
    let one = subbench(
        dir.path(),
        &["distance", "--metric", "geodesic", "a.npy", "b.npy"],
    );
    let value: f64 = stdout(&one).trim().parse().unwrap();
    assert!((value - 0.5).abs() <= 64.0 * f64::EPSILON, "{value}");
    let all = subbench(dir.path(), &["distance", "a.npy", "b.npy"]);
    assert_eq!(stdout(&all).lines().count(), subspace::Distance::ALL.len());
    let bad = subbench(
        dir.path(),
        &["distance", "--metric", "geodesc", "a.npy", "b.npy"],
    );
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn every_bad_input_gets_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = Array2::from_shape_fn(
        (4, 2),
        |(i, j)| if i == j { 1.0 } else { 0.1 * (i + j) as f64 },
    );
    write_npy(&d.join("good.npy"), &good);
    write_npy(
        &d.join("five_rows.npy"),
        &Array2::from_shape_fn((5, 2), |(i, j)| {
            (i * 2 + j) as f64 + if i == j { 3.0 } else { 0.0 }
        }),
    );
    let mut nan = good.clone();
    nan[(2, 1)] = f64::NAN;
    write_npy(&d.join("nan.npy"), &nan);
    Array2::<f32>::zeros((4, 2))
        .write_npy(fs::File::create(d.join("f32.npy")).unwrap())
        .unwrap();
    fs::write(d.join("empty.csv"), "").unwrap();
    fs::write(d.join("ragged.csv"), "1,2\n3\n4,5\n6,7\n").unwrap();
    fs::write(d.join("words.csv"), "1,2\n3,abc\n").unwrap();
    fs::write(d.join("deficient.csv"), "1,2\n2,4\n3,6\n4,8\n").unwrap();
    fs::write(d.join("inf.csv"), "1,0\n0,inf\n1,1\n0,1\n").unwrap();
    fs::write(d.join("junk.npy"), "not an npy file").unwrap();
    // Regression: a header declaring 10¹⁵ entries over a few bytes aborted on the allocation.
    let mut huge = fs::read(d.join("good.npy")).unwrap();
    let at = huge.windows(6).position(|w| w == b"(4, 2)").unwrap();
    huge.splice(at..at + 6, *b"(9999999, 99999999)");
    // Keep the header length field true (it is followed by the header, then the data).
    let len = u16::from_le_bytes([huge[8], huge[9]]) + 13;
    huge[8..10].copy_from_slice(&len.to_le_bytes());
    fs::write(d.join("huge.npy"), &huge).unwrap();

    let cases: &[(&str, &[&str])] = &[
        (
            "five_rows.npy",
            &["good.npy has 4 rows", "five_rows.npy has 5"],
        ),
        ("nan.npy", &["nan.npy", "row 3, column 2", "NaN", "finite"]),
        ("f32.npy", &["f32.npy", "float64"]),
        ("empty.csv", &["empty.csv", "empty"]),
        ("ragged.csv", &["ragged.csv:2", "same count"]),
        ("words.csv", &["words.csv:2", "column 2", "abc"]),
        (
            "deficient.csv",
            &["deficient.csv", "rank 1", "linearly independent"],
        ),
        ("inf.csv", &["inf.csv", "finite"]),
        ("junk.npy", &["junk.npy", ".npy"]),
        (
            "huge.npy",
            &[
                "huge.npy",
                "declares shape (9999999, 99999999)",
                "holds only",
            ],
        ),
        ("missing.npy", &["missing.npy", "cannot open"]),
    ];
    for (file, needles) in cases {
        for command in ["angles", "distance"] {
            let out = subbench(d, &[command, "good.npy", file]);
            assert_user_error(&out, needles);
        }
    }
}
