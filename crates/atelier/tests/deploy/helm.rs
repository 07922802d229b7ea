//! What the Helm chart must say. Chart.yaml and values.yaml are YAML and are parsed; the
//! templates are Go templates, so they are checked as text: balanced blocks, every
//! `.Values` path defined, and the probes and security contexts each workload carries.

use serde_json::Value;

/// Opening and closing template actions balance, and no block closes before it opens.
pub fn block_problems(file: &str, template: &str) -> Vec<String> {
    let mut depth: i64 = 0;
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            out.push(format!("{file}: a `{{{{` that never closes"));
            break;
        };
        let action = rest[start + 2..start + len].trim_matches(|c: char| c == '-' || c.is_whitespace());
        let word = action.split_whitespace().next().unwrap_or_default();
        match word {
            "if" | "range" | "with" | "define" | "block" => depth += 1,
            "end" => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            out.push(format!("{file}: an {{{{ end }}}} without a block to close"));
            depth = 0;
        }
        rest = &rest[start + len + 2..];
    }
    if depth != 0 {
        out.push(format!("{file}: {depth} if/range/with/define blocks are never closed"));
    }
    out
}

/// Every `.Values.a.b` path the template reads that values.yaml does not define.
pub fn values_problems(file: &str, template: &str, values: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (index, _) in template.match_indices(".Values.") {
        let path: String = template[index + ".Values.".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let path = path.trim_end_matches('.');
        let defined = path.split('.').try_fold(values, |node, key| node.get(key)).is_some();
        if !defined {
            out.push(format!("{file}: reads .Values.{path}, which values.yaml does not define"));
        }
    }
    out
}

/// What each template must contain, as text.
pub fn expected_text() -> Vec<(&'static str, Vec<&'static str>)> {
    let workload = [
        "securityContext:\n        {{- toYaml .Values.podSecurityContext",
        "securityContext:\n            {{- toYaml .Values.containerSecurityContext",
        "{{- include \"atelier.volumes\" .",
        "{{- include \"atelier.volumeMounts\" .",
        "automountServiceAccountToken: false",
    ];
    let probes = [
        "livenessProbe:\n            httpGet:\n              path: /healthz",
        "readinessProbe:\n            httpGet:\n              path: /readyz",
    ];
    let deployment = |extra: &[&'static str]| -> Vec<&'static str> {
        workload.iter().chain(probes.iter()).chain(extra.iter()).copied().collect()
    };
    vec![
        (
            "api-deployment.yaml",
            deployment(&[
                "kind: Deployment",
                "args: [\"serve\"]",
                "- name: ATELIER_SERVE_WORKERS\n              value: \"false\"",
                "port: http",
                "preStop:",
                "{{ .Values.api.terminationGracePeriodSeconds }}",
                "{{- include \"atelier.envFrom\" .",
                "app.kubernetes.io/component: api",
            ]),
        ),
        (
            "worker-deployment.yaml",
            deployment(&[
                "kind: Deployment",
                "args: [\"worker\"]",
                "- name: ATELIER_WORKER__LISTEN\n              value: \"0.0.0.0:9091\"",
                "port: metrics",
                "{{ .Values.worker.terminationGracePeriodSeconds }}",
                "{{- include \"atelier.envFrom\" .",
                "app.kubernetes.io/component: worker",
            ]),
        ),
        (
            "migrate-job.yaml",
            workload
                .iter()
                .copied()
                .chain([
                    "kind: Job",
                    "args: [\"migrate\"]",
                    "helm.sh/hook: pre-install,pre-upgrade",
                    "restartPolicy: Never",
                ])
                .collect(),
        ),
        ("api-service.yaml", vec!["kind: Service", "targetPort: http", "app.kubernetes.io/component: api"]),
        ("worker-service.yaml", vec!["kind: Service", "targetPort: metrics", "app.kubernetes.io/component: worker"]),
        (
            "worker-hpa.yaml",
            vec![
                "apiVersion: autoscaling/v2",
                "kind: HorizontalPodAutoscaler",
                "kind: Deployment\n    name: {{ include \"atelier.fullname\" . }}-worker",
                "name: cpu",
            ],
        ),
        ("pdb.yaml", vec!["kind: PodDisruptionBudget", "component: api", "component: worker"]),
        ("configmap.yaml", vec!["kind: ConfigMap", "atelier.configData"]),
        ("secret.yaml", vec!["kind: Secret", "{{- if not .Values.existingSecret }}", "atelier.secretData"]),
        ("servicemonitor.yaml", vec!["{{- if .Values.serviceMonitor.enabled }}", "kind: ServiceMonitor"]),
        ("_helpers.tpl", vec!["define \"atelier.fullname\"", "define \"atelier.selectorLabels\""]),
    ]
}

/// Every rule values.yaml breaks: secure defaults, resources, grace periods.
pub fn values_rules(values: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let pod = &values["podSecurityContext"];
    let container = &values["containerSecurityContext"];
    for (name, security) in [("podSecurityContext", pod), ("containerSecurityContext", container)] {
        if security["runAsNonRoot"] != true || security["runAsUser"].as_u64().is_none_or(|uid| uid == 0) {
            out.push(format!("values.yaml {name}: not runAsNonRoot with a non-zero runAsUser"));
        }
    }
    if pod["seccompProfile"]["type"] != "RuntimeDefault" {
        out.push("values.yaml podSecurityContext: seccompProfile.type is not RuntimeDefault".to_string());
    }
    if container["readOnlyRootFilesystem"] != true
        || container["allowPrivilegeEscalation"] != false
        || !container["capabilities"]["drop"].as_array().is_some_and(|d| d.iter().any(|c| c == "ALL"))
    {
        out.push("values.yaml containerSecurityContext: not read-only, no escalation, drop ALL".to_string());
    }
    for part in ["api", "worker", "migrate"] {
        for bound in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                if values[part]["resources"][bound][resource].is_null() {
                    out.push(format!("values.yaml {part}.resources.{bound}.{resource} is not set"));
                }
            }
        }
    }
    for part in ["api", "worker"] {
        if values[part]["terminationGracePeriodSeconds"].as_u64().is_none_or(|s| s < 40) {
            out.push(format!("values.yaml {part}.terminationGracePeriodSeconds is under 40"));
        }
    }
    if values["serviceMonitor"]["enabled"] != false {
        out.push("values.yaml serviceMonitor.enabled is not false by default".to_string());
    }
    for section in ["config", "secrets"] {
        for (key, value) in values[section].as_object().into_iter().flatten() {
            if !key.starts_with("ATELIER_") || !value.is_string() {
                out.push(format!("values.yaml {section}.{key}: not an ATELIER_* variable with a quoted value"));
            }
        }
    }
    out
}
