//! `ro-crate-metadata.json`: the bundle described as a Workflow Run Crate (RO-Crate 1.1 with
//! the Process Run, Workflow Run and Provenance Run Crate profiles, 0.5). The spec is the
//! workflow (`mainEntity`, a `ComputationalWorkflow`); its run is a `CreateAction` whose
//! instrument is the spec, whose objects are the inputs and whose results are the store files;
//! subbench, the engine that ran it, is the instrument of an `OrganizeAction` (with version and
//! commit). Every file carries its SHA-256, size and media type; the paper reproduced is cited.

use std::collections::BTreeMap;

use harness::papers::{lookup, Reproduces};
use harness::spec::Spec;
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use super::contents::{Entries, Role};

pub const METADATA: &str = "ro-crate-metadata.json";
const RO_CRATE: &str = "https://w3id.org/ro/crate/1.1";
const PROFILES: [&str; 4] = [
    "https://w3id.org/ro/wfrun/process/0.5",
    "https://w3id.org/ro/wfrun/workflow/0.5",
    "https://w3id.org/ro/wfrun/provenance/0.5",
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0",
];

/// The SHA-256 of `bytes`, in hex.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The media type of a bundled file, from its name.
fn media_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("");
    match ext {
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "parquet" => "application/vnd.apache.parquet",
        "csv" => "text/csv",
        "gz" => "application/gzip",
        "html" => "text/html",
        "svg" => "image/svg+xml",
        "tex" => "application/x-tex",
        "md" => "text/markdown",
        "bib" => "application/x-bibtex",
        "py" => "text/x-python",
        "npy" => "application/octet-stream",
        "txt" | "workdir" | "origin" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// The facts of the store's runs (from its provenance): first start, last end, the last run's
/// subbench version and commit.
pub struct RunFacts {
    pub started: Option<String>,
    pub ended: Option<String>,
    pub version: Option<String>,
    pub commit: Option<String>,
}

impl RunFacts {
    pub fn from_provenance(runs: &[Json]) -> RunFacts {
        let runs: Vec<&Json> = runs
            .iter()
            .filter(|r| r.get("spec_hash").is_some())
            .collect();
        let text = |r: &Json, k: &str| r.get(k).and_then(Json::as_str).map(str::to_string);
        RunFacts {
            started: runs.iter().filter_map(|r| text(r, "started")).min(),
            ended: runs.iter().filter_map(|r| text(r, "ended")).max(),
            version: runs.last().and_then(|r| text(r, "subbench_version")),
            commit: runs.last().and_then(|r| text(r, "git_commit")),
        }
    }
}

fn citation(spec: &Spec) -> Option<Json> {
    match lookup(&spec.paper)? {
        Reproduces::Paper(p) => Some(json!({
            "@id": p.url,
            "@type": "ScholarlyArticle",
            "name": p.title,
            "author": p.author_line(),
            "datePublished": p.year.to_string(),
            "publisher": p.venue,
            "identifier": p.arxiv.as_ref().map(|a| format!("arXiv:{a}")).or(p.doi.clone()),
        })),
        Reproduces::Nothing(_) => None,
    }
}

/// The metadata document for `entries` (which must not hold it).
pub fn metadata(
    spec: &Spec,
    entries: &Entries,
    roles: &BTreeMap<String, Role>,
    facts: &RunFacts,
) -> Json {
    let spec_id = format!("{}/{}/spec.yaml", super::contents::RESULTS, spec.name);
    let with_role = |role: Role| -> Vec<Json> {
        roles
            .iter()
            .filter(|(_, r)| **r == role)
            .map(|(p, _)| json!({ "@id": p }))
            .collect()
    };
    let mut graph = vec![json!({
        "@id": METADATA,
        "@type": "CreativeWork",
        "conformsTo": [{"@id": RO_CRATE}, {"@id": PROFILES[3]}],
        "about": {"@id": "./"},
    })];
    let cited = citation(spec);
    graph.push(json!({
        "@id": "./",
        "@type": "Dataset",
        "name": format!("subbench reproduction: {}", spec.title),
        "description": spec.claim,
        "datePublished": facts.ended.clone().unwrap_or_else(|| "unknown".into()),
        "license": {"@id": "https://spdx.org/licenses/MIT"},
        "conformsTo": PROFILES.iter().map(|p| json!({"@id": p})).collect::<Vec<_>>(),
        "mainEntity": {"@id": spec_id},
        "hasPart": entries.keys().map(|p| json!({"@id": p})).collect::<Vec<_>>(),
        "mentions": [{"@id": "#run"}, {"@id": "#engine-run"}],
        "citation": cited.as_ref().map(|c| json!({"@id": c["@id"]})),
    }));
    for (path, bytes) in entries {
        let mut file = json!({
            "@id": path,
            "@type": "File",
            "name": path.rsplit('/').next().unwrap_or(path),
            "contentSize": bytes.len().to_string(),
            "encodingFormat": media_type(path),
            "sha256": sha256(bytes),
        });
        if *path == spec_id {
            file["@type"] = json!(["File", "SoftwareSourceCode", "ComputationalWorkflow"]);
            file["programmingLanguage"] = json!({"@id": "#subbench-spec"});
        }
        graph.push(file);
    }
    graph.push(json!({
        "@id": "#subbench-spec",
        "@type": "ComputerLanguage",
        "name": "subbench spec (YAML)",
    }));
    graph.push(json!({
        "@id": "#subbench",
        "@type": "SoftwareApplication",
        "name": "subbench",
        "softwareVersion": facts.version,
        "identifier": facts.commit.as_ref().map(|c| format!("git commit {c}")),
    }));
    graph.push(json!({
        "@id": "#run",
        "@type": "CreateAction",
        "name": format!("Run of spec {}", spec.name),
        "instrument": {"@id": spec_id},
        "startTime": facts.started,
        "endTime": facts.ended,
        "object": with_role(Role::Input),
        "result": with_role(Role::Store),
    }));
    graph.push(json!({
        "@id": "#engine-run",
        "@type": "OrganizeAction",
        "name": format!("subbench orchestrating spec {}", spec.name),
        "instrument": {"@id": "#subbench"},
        "object": with_role(Role::Method),
        "result": {"@id": "#run"},
        "startTime": facts.started,
        "endTime": facts.ended,
    }));
    graph.extend(cited);
    json!({
        "@context": [
            format!("{RO_CRATE}/context"),
            // Not in the RO-Crate 1.1 context: the checksum term of the Workflow Run terms.
            {"sha256": "https://w3id.org/ro/terms/workflow-run#sha256"},
        ],
        "@graph": graph,
    })
}
