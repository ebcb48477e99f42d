//! The report as a person sees it: headless Chromium opens the generated index and spec page,
//! takes screenshots, and the test fails on a console error, a broken image or a missing figure.
//! Chromium comes from Debian's `chromium` package (`.ci/run` installs it). Without it the test
//! is skipped locally and fails under CI (`CI` set), so CI can never pass by not looking.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{stderr, subbench};

const SPEC: &str = "\
name: browser-demo
title: \"Browser demo: f(x) = x² <with> & symbols\"
paper: test
claim: \"The page renders <b>escaped</b> text, figures and tables.\"
method: test.quadratic
seeds: 3
params: {noise: 0.2}
sweep:
  grid:
    x: {linspace: [0.5, 2, 4]}
    mode: [plain, shifted]
metrics:
  value: {label: \"f(x)\", better: lower}
  theory: {}
report:
  figures:
    - {kind: line, x: x, y: value, series: mode}
    - {kind: heatmap, x: x, y: mode, z: value}
    - {kind: curve, x: step, y: path, series: mode, where: {x: 1.0}}
  tables: [{rows: mode, columns: x, value: value}]
expect:
  - agreement: {metric: value, with: theory, abs_tol: 1.0}
";

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Load `page` headless; returns (DOM after load, console/log output).
fn load(browser: &Path, page: &Path, screenshot: &Path, profile: &Path) -> (String, String) {
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,1600",
    ];
    let run = |extra: &str| {
        Command::new(browser)
            .args(common)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(extra)
            .arg(&url)
            .output()
            .expect("chromium starts")
    };
    let dom = run("--dump-dom");
    let shot = run(&format!("--screenshot={}", screenshot.display()));
    assert!(
        screenshot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    (
        String::from_utf8_lossy(&dom.stdout).into_owned(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&dom.stderr),
            String::from_utf8_lossy(&shot.stderr)
        ),
    )
}

#[test]
fn index_and_spec_page_render_without_errors() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: install Debian's chromium"
        );
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("spec.yaml"), SPEC).unwrap();
    let run = subbench(d, &["run", "spec.yaml"]);
    assert!(run.status.success(), "{}", stderr(&run));
    for (page, figures) in [("index.html", 1), ("browser-demo.html", 3)] {
        let path = d.join("reports").join(page);
        let (dom, log) = load(
            &browser,
            &path,
            &d.join(format!("{page}.png")),
            &d.join(format!("profile-{page}")),
        );
        assert!(
            !log.contains(":CONSOLE("),
            "console output on {page}: {log}"
        );
        assert!(dom.contains("</html>"), "{page} did not load: {log}");
        assert!(
            dom.matches("<svg").count() >= figures,
            "{page}: expected {figures} figures"
        );
        assert!(
            !dom.contains("<img"),
            "{page} must inline its figures, not link images"
        );
        assert!(
            !dom.contains("<b>escaped</b>"),
            "{page}: spec text must be escaped"
        );
        assert!(
            !dom.contains("http://")
                || dom.matches("http://").count()
                    == dom.matches("http://www.w3.org/2000/svg").count(),
            "{page} links to the network"
        );
    }
    let page = std::fs::read_to_string(d.join("reports/browser-demo.html")).unwrap();
    assert!(page.contains("PASS"), "the check result is on the page");
    assert!(
        page.contains("&lt;b&gt;escaped&lt;&#x2F;b&gt;")
            || page.contains("&lt;b&gt;escaped&lt;/b&gt;"),
        "claim escaped"
    );
}
