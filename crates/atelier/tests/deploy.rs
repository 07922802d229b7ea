//! The production deployment files (Dockerfile, docker-compose.yml, the Helm chart and the
//! Kustomize base under deploy/), parsed and held to the invariants docs/ops/deploy.md
//! promises: probes, non-root read-only pods, resources, selectors that select, references
//! that resolve. No Docker engine, cluster or helm is needed; kubectl and helm, when on
//! PATH, render the manifests too and the rendered objects must keep the same invariants.

#[path = "deploy/docker.rs"]
mod docker;
#[path = "deploy/helm.rs"]
mod helm;
#[path = "deploy/k8s.rs"]
mod k8s;

use std::path::{Path, PathBuf};
use std::process::Command;

use k8s::Object;
use serde::Deserialize;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|err| panic!("reading {relative}: {err}"))
}

/// Every non-empty document of a YAML stream, as JSON values.
fn documents(text: &str, origin: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|err| panic!("{origin}: not YAML: {err}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn yaml(relative: &str) -> Value {
    let mut docs = documents(&read(relative), relative);
    assert_eq!(docs.len(), 1, "{relative}: expected one YAML document");
    docs.remove(0)
}

const BASE: &str = "deploy/kustomize/base";

/// The objects of the files the base's kustomization.yaml lists, in order.
fn base_objects() -> Vec<Object> {
    let kustomization = yaml(&format!("{BASE}/kustomization.yaml"));
    for field in ["configMapGenerator", "secretGenerator", "patches", "patchesStrategicMerge", "replacements"] {
        assert!(
            kustomization[field].is_null(),
            "{BASE}/kustomization.yaml: has {field}; the base must render as written"
        );
    }
    let files = kustomization["resources"].as_array().expect("kustomization.yaml lists resources");
    files
        .iter()
        .flat_map(|file| {
            let path = format!("{BASE}/{}", file.as_str().unwrap());
            documents(&read(&path), &path)
        })
        .map(Object::new)
        .collect()
}

fn assert_no_problems(what: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

fn ids(objects: &[Object]) -> std::collections::BTreeSet<String> {
    objects.iter().map(Object::id).collect()
}

/// `program args...` when the program is on PATH: its stdout, or a panic with its stderr.
fn run_if_present(program: &str, args: &[&str]) -> Option<String> {
    let output = match Command::new(program).args(args).current_dir(root()).output() {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("note: {program} is not on PATH; skipping the check that renders with it");
            return None;
        }
        Err(err) => panic!("running {program}: {err}"),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{program} {}: {}\n{stderr}", args.join(" "), output.status);
    Some(String::from_utf8(output.stdout).unwrap())
}

#[test]
fn the_kustomize_base_objects_keep_every_invariant() {
    let objects = base_objects();
    let expected = [
        "ConfigMap atelier-config",
        "Secret atelier-secrets",
        "Deployment atelier-api",
        "Service atelier-api",
        "PodDisruptionBudget atelier-api",
        "Deployment atelier-worker",
        "Service atelier-worker",
        "HorizontalPodAutoscaler atelier-worker",
        "PodDisruptionBudget atelier-worker",
    ];
    assert_eq!(ids(&objects), expected.iter().map(|id| id.to_string()).collect());
    for object in &objects {
        let labels = &object.doc["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/name"], "atelier", "{}: lacks app.kubernetes.io/name", object.id());
    }
    assert_no_problems(BASE, k8s::problems(&objects));
}

#[test]
fn kubectl_renders_the_kustomize_base_to_the_same_objects_keeping_every_invariant() {
    let Some(rendered) = run_if_present("kubectl", &["kustomize", BASE]) else { return };
    let objects: Vec<Object> = documents(&rendered, "kubectl kustomize").into_iter().map(Object::new).collect();
    assert_eq!(ids(&objects), ids(&base_objects()), "kubectl kustomize renders other objects than the base lists");
    assert_no_problems("kubectl kustomize deploy/kustomize/base", k8s::problems(&objects));
}

#[test]
fn each_broken_invariant_is_reported_naming_the_object_and_the_rule() {
    let api = "Deployment atelier-api";
    let worker = "Deployment atelier-worker";
    let container = "/spec/template/spec/containers/0";
    // (object, field under it, broken value, what the report starts with, what it says)
    let cases = [
        (
            api,
            format!("{container}/readinessProbe/httpGet/path"),
            json!("/healthz"),
            "container api",
            "readinessProbe does not GET /readyz",
        ),
        (
            worker,
            format!("{container}/livenessProbe/httpGet/port"),
            json!("http"),
            "container worker",
            "livenessProbe port \"http\"",
        ),
        (api, format!("{container}/securityContext/runAsUser"), json!(0), "container api", "runAsUser is missing or 0"),
        (
            worker,
            "/spec/template/spec/initContainers/0/securityContext/readOnlyRootFilesystem".into(),
            json!(false),
            "container migrate",
            "readOnlyRootFilesystem",
        ),
        (api, format!("{container}/env/1/value"), json!(false), "container api", "ATELIER_SERVE_WORKERS"),
        (
            api,
            "/spec/template/spec/terminationGracePeriodSeconds".into(),
            json!(30),
            "",
            "terminationGracePeriodSeconds 30 < 40",
        ),
        (
            worker,
            format!("{container}/envFrom/1/secretRef/name"),
            json!("atelier-secret"),
            "container worker",
            "Secret \"atelier-secret\", which is not defined",
        ),
        (
            "Service atelier-worker",
            "/spec/selector/app.kubernetes.io~1component".into(),
            json!("workers"),
            "",
            "matches 0 Deployments",
        ),
        (
            "HorizontalPodAutoscaler atelier-worker",
            "/spec/scaleTargetRef/name".into(),
            json!("atelier-api"),
            "",
            "does not name the worker Deployment",
        ),
    ];
    for (id, pointer, value, part, rule) in cases {
        let mut objects = base_objects();
        let object = objects.iter_mut().find(|o| o.id() == id).unwrap();
        *object.doc.pointer_mut(&pointer).unwrap_or_else(|| panic!("{id} has no {pointer}")) = value;
        let problems = k8s::problems(&objects);
        let reported = format!("{id} {part}");
        assert!(
            problems.iter().any(|p| p.starts_with(reported.trim_end()) && p.contains(rule)),
            "breaking {pointer} of {id} was not reported as `{rule}`; got {problems:#?}"
        );
    }
}

/// The `ATELIER_*` names in `text` (a bare `ATELIER_` prefix, as in `ATELIER_*`, is none).
fn atelier_names(text: &str) -> Vec<String> {
    text.match_indices("ATELIER_")
        .map(|(at, _)| {
            let name: String =
                text[at..].chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
            name.trim_end_matches('_').to_string()
        })
        .filter(|name| name != "ATELIER")
        .collect()
}

/// Every variable atelier.example.toml documents: those it names, and one per key it lists
/// (commented-out keys and sections included); and those the README names (ATELIER_PASSWORD).
fn documented_variables() -> std::collections::BTreeSet<String> {
    let example = read("atelier.example.toml");
    let mut names: std::collections::BTreeSet<String> =
        atelier_names(&example).into_iter().chain(atelier_names(&read("README.md"))).collect();
    let mut section = String::new();
    let is_key =
        |word: &str| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    for line in example.lines() {
        let bare = line.trim().trim_start_matches('#').trim();
        if let Some(name) = bare.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).filter(|n| is_key(n)) {
            section = format!("{}__", name.to_uppercase());
        } else if let Some((key, _)) = bare.split_once(" = ").filter(|(key, _)| is_key(key)) {
            names.insert(format!("ATELIER_{section}{}", key.to_uppercase()));
        }
    }
    names
}

#[test]
fn every_atelier_variable_the_deployment_files_set_is_a_documented_setting() {
    let documented = documented_variables();
    assert!(documented.contains("ATELIER_BLOBS__SECRET_ACCESS_KEY") && documented.contains("ATELIER_LISTEN"));
    let mut used: Vec<(String, String)> = Vec::new();
    let mut files = vec![root().join("Dockerfile")];
    let mut folders = vec![root().join("deploy")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path)
            } else {
                files.push(path)
            }
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let place = file.strip_prefix(root()).unwrap().display().to_string();
        used.extend(atelier_names(&text).into_iter().map(|name| (place.clone(), name)));
    }
    // The compose file also interpolates its own ${ATELIER_...} variables: only the keys count.
    let compose: Value = serde_yaml_ng::from_str(&read("docker-compose.yml")).unwrap();
    for (service, spec) in compose["services"].as_object().unwrap() {
        for name in spec["environment"].as_object().into_iter().flatten().map(|(name, _)| name) {
            used.extend(atelier_names(name).into_iter().map(|name| (format!("docker-compose.yml {service}"), name)));
        }
    }
    let unknown: Vec<String> = used
        .into_iter()
        .filter(|(_, name)| !documented.contains(name))
        .map(|(place, name)| format!("{place}: {name} is in neither atelier.example.toml nor README.md"))
        .collect();
    assert_no_problems("ATELIER_* variables", unknown);
}

fn workspace_field(field: &str) -> String {
    let manifest = read("Cargo.toml");
    let section = manifest.split("[workspace.package]").nth(1).expect("Cargo.toml has [workspace.package]");
    let line = section.lines().find(|l| l.starts_with(&format!("{field} ="))).expect("the field is in Cargo.toml");
    line.split('"').nth(1).unwrap().to_string()
}

#[test]
fn the_dockerfile_builds_in_stages_and_runs_a_numeric_non_root_user_with_a_healthcheck() {
    let setup = read("scripts/setup-onnxruntime.sh");
    let ort_lib = setup.lines().find_map(|l| l.strip_prefix("ORT_LIB=")).expect("the setup script pins ORT_LIB");
    let rust_version = workspace_field("rust-version");
    let mut parts = rust_version.split('.').map(|p| p.parse::<u32>().unwrap());
    let minimum = (parts.next().unwrap(), parts.next().unwrap());
    assert_no_problems("Dockerfile", docker::dockerfile_problems(&read("Dockerfile"), ort_lib, minimum));
    let needed =
        ["Cargo.toml", "Cargo.lock", "crates/web/assets", "models", "scripts/setup-onnxruntime.sh", "deploy/docker"];
    assert_no_problems(".dockerignore", docker::dockerignore_problems(&read(".dockerignore"), &needed));
    for path in needed {
        assert!(root().join(path).exists(), "the Docker build needs {path}, which is gone");
    }
}

#[test]
fn a_dockerfile_run_as_root_or_without_a_healthcheck_is_refused() {
    let good = read("Dockerfile");
    let as_root = good.replace("USER 10001:10001", "USER root");
    assert!(docker::dockerfile_problems(&as_root, "libonnxruntime.so.1.31.1", (1, 0))
        .iter()
        .any(|p| p.contains("not a numeric non-root user")));
    let single = "FROM debian:bookworm-slim\nUSER 10001\n";
    assert!(docker::dockerfile_problems(single, "x", (1, 0))[0].contains("multi-stage"));
}

#[test]
fn docker_compose_runs_the_api_two_workers_postgres_and_minio_in_order_with_healthchecks() {
    let mut compose: serde_yaml_ng::Value = serde_yaml_ng::from_str(&read("docker-compose.yml")).unwrap();
    compose.apply_merge().unwrap();
    let compose = serde_json::to_value(compose).unwrap();
    assert_no_problems("docker-compose.yml", docker::compose_problems(&compose));

    let mut broken = compose.clone();
    broken["services"]["postgres"]["healthcheck"] = Value::Null;
    let problems = docker::compose_problems(&broken);
    assert!(problems.iter().any(|p| p.contains("postgres: a long-running service without a healthcheck")));
    assert!(problems.iter().any(|p| p.contains("api: depends_on postgres")), "{problems:#?}");
}

const CHART: &str = "deploy/helm/atelier";

#[test]
fn the_helm_chart_parses_and_its_templates_carry_probes_and_security_contexts() {
    let chart = yaml(&format!("{CHART}/Chart.yaml"));
    assert_eq!(chart["apiVersion"], "v2", "Chart.yaml: apiVersion must be v2");
    assert_eq!(chart["name"], "atelier");
    assert!(chart["version"].is_string(), "Chart.yaml: no version");
    assert_eq!(
        chart["appVersion"],
        workspace_field("version").as_str(),
        "Chart.yaml: appVersion is not the workspace version"
    );
    let values = yaml(&format!("{CHART}/values.yaml"));
    assert_no_problems("values.yaml", helm::values_rules(&values));

    let mut problems = Vec::new();
    let templates = root().join(CHART).join("templates");
    for entry in std::fs::read_dir(&templates).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        problems.extend(helm::block_problems(&file, &text));
        problems.extend(helm::values_problems(&file, &text, &values));
    }
    for (file, snippets) in helm::expected_text() {
        let text = std::fs::read_to_string(templates.join(file))
            .unwrap_or_else(|_| panic!("{CHART}/templates/{file} is missing"));
        for snippet in snippets {
            if !text.contains(snippet) {
                problems.push(format!("templates/{file}: lacks {snippet:?}"));
            }
        }
    }
    assert_no_problems(CHART, problems);
}

#[test]
fn the_helm_template_checks_catch_unclosed_blocks_and_undefined_values() {
    let values: Value = serde_json::json!({"api": {"replicas": 2}});
    assert!(helm::block_problems("t", "{{- if .Values.api }}x").iter().any(|p| p.contains("never closed")));
    assert!(helm::block_problems("t", "{{- if .Values.api }}{{ else }}{{ end }}").is_empty());
    assert_eq!(helm::values_problems("t", "{{ .Values.api.replicas }} {{ .Values.api.replica }}", &values).len(), 1);
}

#[test]
fn helm_renders_the_chart_to_objects_keeping_every_invariant() {
    let set = "secrets.ATELIER_DATABASE_URL=postgres://atelier@db:5432/atelier,serviceMonitor.enabled=false";
    let Some(rendered) = run_if_present("helm", &["template", "atelier", CHART, "--set", set]) else { return };
    let objects: Vec<Object> = documents(&rendered, "helm template").into_iter().map(Object::new).collect();
    let kinds: std::collections::BTreeSet<&str> = objects.iter().map(|o| o.kind.as_str()).collect();
    for kind in
        ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job", "ConfigMap", "Secret"]
    {
        assert!(kinds.contains(kind), "helm template renders no {kind}");
    }
    assert_no_problems("helm template deploy/helm/atelier", k8s::problems(&objects));
}
