//! What the Dockerfile, .dockerignore and docker-compose.yml must say: read as text and
//! YAML, since no Docker engine runs where the tests do.

use serde_json::Value;

/// A Dockerfile instruction: the keyword in capitals and the rest of its (joined) lines.
#[derive(Debug)]
pub struct Instruction {
    pub keyword: String,
    pub args: String,
}

/// The instructions stage by stage, each stage starting at its FROM.
pub fn stages(dockerfile: &str) -> Vec<Vec<Instruction>> {
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    let mut logical = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && logical.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            logical.push_str(head);
            logical.push(' ');
            continue;
        }
        logical.push_str(trimmed);
        let text = std::mem::take(&mut logical);
        let (keyword, args) = text.split_once(char::is_whitespace).unwrap_or((&text, ""));
        let instruction = Instruction { keyword: keyword.to_uppercase(), args: args.trim().to_string() };
        if instruction.keyword == "FROM" {
            stages.push(Vec::new());
        }
        // ARGs before the first FROM belong to no stage.
        if let Some(stage) = stages.last_mut() {
            stage.push(instruction);
        }
    }
    stages
}

/// Every rule the Dockerfile breaks. `ort_lib` is the library file the setup script pins;
/// `rust_version` the workspace's minimum toolchain.
pub fn dockerfile_problems(dockerfile: &str, ort_lib: &str, rust_version: (u32, u32)) -> Vec<String> {
    let mut out = Vec::new();
    let stages = stages(dockerfile);
    if stages.len() < 2 {
        out.push(format!("Dockerfile: {} FROM, expected a multi-stage build (at least 2)", stages.len()));
        return out;
    }
    let toolchain = dockerfile.lines().find_map(|l| l.trim().strip_prefix("ARG RUST_VERSION=")).and_then(|v| {
        let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
        Some((parts.next()??, parts.next()??))
    });
    if toolchain.is_none_or(|t| t < rust_version) {
        out.push(format!("Dockerfile: ARG RUST_VERSION {toolchain:?} is older than the workspace's {rust_version:?}"));
    }
    let last = stages.last().unwrap();
    let all = |keyword: &'static str| last.iter().filter(move |i| i.keyword == keyword).map(|i| i.args.as_str());
    let user = all("USER").next_back().unwrap_or_default();
    let uid = user.split(':').next().unwrap_or_default();
    if !uid.chars().all(|c| c.is_ascii_digit()) || uid.is_empty() || uid.parse::<u32>() == Ok(0) {
        out.push(format!("Dockerfile final stage: USER {user:?} is not a numeric non-root user"));
    }
    let healthcheck = all("HEALTHCHECK").next_back().unwrap_or_default();
    if !healthcheck.contains("\"atelier\", \"healthcheck\"") || !healthcheck.contains("/healthz") {
        out.push(format!(
            "Dockerfile final stage: HEALTHCHECK {healthcheck:?} does not run `atelier healthcheck` on /healthz"
        ));
    }
    let copies: Vec<&str> = all("COPY").collect();
    let copies_to = |dest: &str| copies.iter().any(|c| c.split_whitespace().last() == Some(dest));
    if !copies_to("/opt/atelier/models/") || !copies.iter().any(|c| c.starts_with("models/ ")) {
        out.push("Dockerfile final stage: does not COPY models/ to /opt/atelier/models/".to_string());
    }
    if !copies.iter().any(|c| c.starts_with("--from=") && c.ends_with(" /opt/atelier/lib/")) {
        out.push("Dockerfile final stage: does not COPY the ONNX Runtime library to /opt/atelier/lib/".to_string());
    }
    let env = all("ENV").collect::<Vec<_>>().join(" ");
    for setting in [
        "ATELIER_LISTEN=0.0.0.0:8080".to_string(),
        "ATELIER_DATA_DIR=/var/lib/atelier".to_string(),
        "ATELIER_VISION__MODELS_DIR=/opt/atelier/models".to_string(),
        format!("ATELIER_VISION__LIBRARY=/opt/atelier/lib/{ort_lib}"),
    ] {
        if !env.split_whitespace().any(|pair| pair == setting) {
            out.push(format!("Dockerfile final stage: ENV lacks {setting}"));
        }
    }
    for (keyword, expected) in [("EXPOSE", "8080"), ("ENTRYPOINT", "[\"atelier\"]"), ("CMD", "[\"serve\"]")] {
        if all(keyword).next_back() != Some(expected) {
            out.push(format!(
                "Dockerfile final stage: {keyword} is {:?}, expected {expected}",
                all(keyword).next_back()
            ));
        }
    }
    out
}

/// Paths the build needs that a .dockerignore line (without wildcards) would leave out.
pub fn dockerignore_problems(dockerignore: &str, needed: &[&str]) -> Vec<String> {
    let patterns: Vec<&str> = dockerignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!') && !l.contains('*'))
        .map(|l| l.trim_matches('/'))
        .collect();
    let mut out = Vec::new();
    for path in needed {
        for pattern in &patterns {
            if path == pattern || path.starts_with(&format!("{pattern}/")) {
                out.push(format!(".dockerignore: `{pattern}` leaves out {path}, which the build needs"));
            }
        }
    }
    for kept_out in ["target", ".git"] {
        if !patterns.contains(&kept_out) {
            out.push(format!(".dockerignore: does not keep {kept_out} out of the build context"));
        }
    }
    out
}

/// Every rule docker-compose.yml breaks; `compose` has its `<<` merges applied.
pub fn compose_problems(compose: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let services = compose["services"].as_object().cloned().unwrap_or_default();
    let init = services.iter().find(|(_, s)| {
        s["image"].as_str().is_some_and(|i| i.starts_with("minio/mc")) && s.to_string().contains("mc mb")
    });
    let Some((init_name, _)) = init else {
        out.push("docker-compose.yml: no minio/mc service that makes the bucket (mc mb)".to_string());
        return out;
    };
    for name in ["api", "worker", "postgres", "minio"] {
        if !services.contains_key(name) {
            out.push(format!("docker-compose.yml: no `{name}` service"));
        }
    }
    let api = &compose["services"]["api"];
    let worker = &compose["services"]["worker"];
    if api["environment"]["ATELIER_SERVE_WORKERS"] != "false" {
        out.push("docker-compose.yml api: ATELIER_SERVE_WORKERS is not \"false\"".to_string());
    }
    if !api["ports"].to_string().contains(":8080") {
        out.push("docker-compose.yml api: port 8080 is not published".to_string());
    }
    if worker["command"] != serde_json::json!(["worker"]) || worker["deploy"]["replicas"] != 2 {
        out.push("docker-compose.yml worker: not `worker` at deploy.replicas: 2".to_string());
    }
    let listen = worker["environment"]["ATELIER_WORKER__LISTEN"].as_str().unwrap_or_default();
    if !listen.ends_with(":9091") || !worker["healthcheck"]["test"].to_string().contains(":9091/") {
        out.push("docker-compose.yml worker: no listener on 9091 with a healthcheck against it".to_string());
    }
    if !compose["services"]["postgres"]["image"].as_str().is_some_and(|i| i.starts_with("postgres:16")) {
        out.push("docker-compose.yml postgres: not PostgreSQL 16".to_string());
    }
    for (name, service) in &services {
        let one_shot = service["restart"] == "no";
        if !one_shot && (service["healthcheck"]["test"].is_null() || service["healthcheck"]["disable"] == true) {
            out.push(format!("docker-compose.yml {name}: a long-running service without a healthcheck"));
        }
        for (dependency, rule) in service["depends_on"].as_object().into_iter().flatten() {
            let condition = rule["condition"].as_str().unwrap_or_default();
            let target = &compose["services"][dependency];
            let sound = match condition {
                "service_healthy" => !target["healthcheck"]["test"].is_null(),
                "service_completed_successfully" => target["restart"] == "no",
                _ => false,
            };
            if !sound {
                out.push(format!("docker-compose.yml {name}: depends_on {dependency} with condition {condition:?}, which that service cannot meet"));
            }
        }
        if service["depends_on"].is_array() {
            out.push(format!("docker-compose.yml {name}: depends_on without conditions"));
        }
    }
    for name in ["api", "worker"] {
        let depends = &compose["services"][name]["depends_on"];
        if depends["postgres"]["condition"] != "service_healthy"
            || depends[init_name]["condition"] != "service_completed_successfully"
        {
            out.push(format!("docker-compose.yml {name}: does not wait for postgres healthy and {init_name} done"));
        }
    }
    // Secrets come from the environment, with defaults that say they are placeholders.
    for (name, var) in [
        ("api", "ATELIER_AUTH__SECRET"),
        ("api", "ATELIER_BLOBS__SECRET_ACCESS_KEY"),
        ("api", "ATELIER_DATABASE_URL"),
        ("postgres", "POSTGRES_PASSWORD"),
        ("minio", "MINIO_ROOT_PASSWORD"),
    ] {
        let value = compose["services"][name]["environment"][var].as_str().unwrap_or_default();
        if !value.contains("${") || !value.contains(":-change-me") {
            out.push(format!("docker-compose.yml {name}: {var} is not `${{VAR:-change-me...}}` from the environment"));
        }
    }
    let secret = api["environment"]["ATELIER_AUTH__SECRET"].as_str().unwrap_or_default();
    let placeholder = secret.split(":-").nth(1).and_then(|rest| rest.strip_suffix('}')).unwrap_or_default();
    if placeholder.len() < 32 {
        out.push(format!("docker-compose.yml api: the ATELIER_AUTH__SECRET placeholder {placeholder:?} is under 32 bytes, so atelier would not start"));
    }
    out
}
