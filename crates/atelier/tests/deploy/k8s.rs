//! The invariants every set of Kubernetes objects atelier ships must keep, whatever made
//! them (the Kustomize files, `kubectl kustomize`, `helm template`): each broken one comes
//! back as a line naming the object and the rule.

use serde_json::Value;

/// One Kubernetes object and the file it came from.
#[derive(Debug, Clone)]
pub struct Object {
    pub kind: String,
    pub name: String,
    pub doc: Value,
}

impl Object {
    pub fn new(doc: Value) -> Object {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let name = doc["metadata"]["name"].as_str().unwrap_or_default().to_string();
        Object { kind, name, doc }
    }

    pub fn id(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }

    fn template_labels(&self) -> &Value {
        &self.doc["spec"]["template"]["metadata"]["labels"]
    }

    fn component(&self) -> Option<&str> {
        self.template_labels()["app.kubernetes.io/component"].as_str()
    }
}

/// Every broken invariant of `objects`, one line each; empty when all hold.
pub fn problems(objects: &[Object]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for object in objects {
        if object.kind.is_empty() || object.name.is_empty() {
            out.push(format!("{}: an object without a kind or a metadata.name", object.id()));
        }
        if !seen.insert(object.id()) {
            out.push(format!("{}: defined twice", object.id()));
        }
    }
    let of_kind = |kind: &'static str| objects.iter().filter(move |o| o.kind == kind);
    let deployments: Vec<&Object> = of_kind("Deployment").collect();
    for component in ["api", "worker"] {
        let count = deployments.iter().filter(|d| d.component() == Some(component)).count();
        if count != 1 {
            out.push(format!("{count} Deployments with app.kubernetes.io/component: {component}, expected 1"));
        }
    }
    for workload in deployments.iter().copied().chain(of_kind("Job")) {
        check_pod(workload, objects, &mut out);
    }
    for config in of_kind("ConfigMap").chain(of_kind("Secret")) {
        for field in ["data", "stringData"] {
            for (key, value) in config.doc[field].as_object().into_iter().flatten() {
                if !value.is_string() {
                    out.push(format!("{}: {field}.{key} is {value}, not a string", config.id()));
                }
            }
        }
    }
    for service in of_kind("Service") {
        check_service(service, &deployments, &mut out);
    }
    for hpa in of_kind("HorizontalPodAutoscaler") {
        let target = &hpa.doc["spec"]["scaleTargetRef"];
        let worker = deployments.iter().find(|d| d.component() == Some("worker"));
        if target["kind"] != "Deployment" || worker.is_none_or(|w| target["name"] != w.name.as_str()) {
            out.push(format!("{}: scaleTargetRef {target} does not name the worker Deployment", hpa.id()));
        }
        let metrics = hpa.doc["spec"]["metrics"].as_array().cloned().unwrap_or_default();
        if !metrics.iter().any(|m| m["resource"]["name"] == "cpu") {
            out.push(format!("{}: does not scale on cpu", hpa.id()));
        }
    }
    for pdb in of_kind("PodDisruptionBudget") {
        let selector = &pdb.doc["spec"]["selector"]["matchLabels"];
        if !deployments.iter().any(|d| matches(selector, d.template_labels())) {
            out.push(format!("{}: selector.matchLabels {selector} matches no Deployment's pods", pdb.id()));
        }
    }
    out
}

/// True when `selector` is a non-empty map whose every label the pod has.
pub fn matches(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|pairs| !pairs.is_empty() && pairs.iter().all(|(key, value)| &labels[key] == value))
}

fn check_pod(workload: &Object, objects: &[Object], out: &mut Vec<String>) {
    let id = workload.id();
    let spec = &workload.doc["spec"];
    let pod = &spec["template"]["spec"];
    if workload.kind == "Deployment" && !matches(&spec["selector"]["matchLabels"], workload.template_labels()) {
        out.push(format!("{id}: selector.matchLabels is empty or not among the pod template's labels"));
    }
    let security = &pod["securityContext"];
    check_non_root(&format!("{id}: pod securityContext"), security, out);
    if security["seccompProfile"]["type"] != "RuntimeDefault" {
        out.push(format!("{id}: pod securityContext.seccompProfile.type is not RuntimeDefault"));
    }
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    if workload.kind == "Deployment" && grace < 40 {
        out.push(format!("{id}: terminationGracePeriodSeconds {grace} < 40 leaves draining no time"));
    }
    let volumes = pod["volumes"].as_array().cloned().unwrap_or_default();
    let containers = pod["containers"].as_array().cloned().unwrap_or_default();
    if containers.is_empty() {
        out.push(format!("{id}: no containers"));
    }
    let init = pod["initContainers"].as_array().cloned().unwrap_or_default();
    for (container, is_init) in containers.iter().map(|c| (c, false)).chain(init.iter().map(|c| (c, true))) {
        let where_ = format!("{id} container {}", container["name"].as_str().unwrap_or("?"));
        check_container(&where_, container, objects, out);
        for path in ["/var/lib/atelier", "/tmp"] {
            let mount = container["volumeMounts"].as_array().into_iter().flatten().find(|m| m["mountPath"] == path);
            let volume = mount.and_then(|m| volumes.iter().find(|v| v["name"] == m["name"]));
            if volume.is_none_or(|v| v.get("emptyDir").is_none()) {
                out.push(format!("{where_}: {path} is not an emptyDir volume (the root file system is read-only)"));
            }
        }
        if workload.kind == "Deployment" && !is_init {
            check_probes(&where_, container, out);
        }
    }
    if workload.component() == Some("api") {
        for container in &containers {
            let where_ = format!("{id} container {}", container["name"].as_str().unwrap_or("?"));
            if env_value(container, "ATELIER_SERVE_WORKERS") != Some("false") {
                out.push(format!("{where_}: the API must set ATELIER_SERVE_WORKERS to the string \"false\""));
            }
            if container["lifecycle"]["preStop"].is_null() {
                out.push(format!("{where_}: no preStop pause, so requests reach it after it stops listening"));
            }
        }
    }
}

fn check_non_root(where_: &str, security: &Value, out: &mut Vec<String>) {
    if security["runAsNonRoot"] != true {
        out.push(format!("{where_}: runAsNonRoot is not true"));
    }
    if security["runAsUser"].as_u64().is_none_or(|uid| uid == 0) {
        out.push(format!("{where_}: runAsUser is missing or 0"));
    }
}

fn check_container(where_: &str, container: &Value, objects: &[Object], out: &mut Vec<String>) {
    let security = &container["securityContext"];
    check_non_root(&format!("{where_}: securityContext"), security, out);
    if security["readOnlyRootFilesystem"] != true {
        out.push(format!("{where_}: securityContext.readOnlyRootFilesystem is not true"));
    }
    if security["allowPrivilegeEscalation"] != false {
        out.push(format!("{where_}: securityContext.allowPrivilegeEscalation is not false"));
    }
    let drop = security["capabilities"]["drop"].as_array().cloned().unwrap_or_default();
    if !drop.iter().any(|c| c == "ALL") {
        out.push(format!("{where_}: securityContext.capabilities.drop lacks ALL"));
    }
    for bound in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            if container["resources"][bound][resource].is_null() {
                out.push(format!("{where_}: no resources.{bound}.{resource}"));
            }
        }
    }
    let exists = |kind: &str, name: &Value| objects.iter().any(|o| o.kind == kind && name == o.name.as_str());
    for source in container["envFrom"].as_array().into_iter().flatten() {
        for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
            let name = &source[field]["name"];
            if !source[field].is_null() && !exists(kind, name) {
                out.push(format!("{where_}: envFrom {field} names {kind} {name}, which is not defined"));
            }
        }
    }
    for var in container["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().unwrap_or("?");
        if !var["value"].is_null() && !var["value"].is_string() {
            out.push(format!("{where_}: env {name} is {}, not a string", var["value"]));
        }
        for (field, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
            let reference = &var["valueFrom"][field];
            if !reference.is_null() && !exists(kind, &reference["name"]) {
                out.push(format!("{where_}: env {name} names {kind} {}, which is not defined", reference["name"]));
            }
        }
    }
    // The address the process listens on must be the port the probes and Services use.
    for var in ["ATELIER_LISTEN", "ATELIER_WORKER__LISTEN"] {
        let port = env_value(container, var).and_then(|addr| addr.rsplit(':').next()?.parse::<u64>().ok());
        if let Some(port) = port {
            if !container_ports(container).iter().any(|p| p["containerPort"] == port) {
                out.push(format!("{where_}: {var} listens on port {port}, which is not a container port"));
            }
        }
    }
}

fn check_probes(where_: &str, container: &Value, out: &mut Vec<String>) {
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &container[probe]["httpGet"];
        if get["path"] != path {
            out.push(format!("{where_}: {probe} does not GET {path} (it has {})", get["path"]));
        }
        if !has_port(container, &get["port"]) {
            out.push(format!("{where_}: {probe} port {} is not one of the container's ports", get["port"]));
        }
    }
}

fn check_service(service: &Object, deployments: &[&Object], out: &mut Vec<String>) {
    let selector = &service.doc["spec"]["selector"];
    let selected: Vec<&&Object> = deployments.iter().filter(|d| matches(selector, d.template_labels())).collect();
    let [deployment] = selected.as_slice() else {
        out.push(format!(
            "{}: selector {selector} matches {} Deployments' pods, expected exactly 1",
            service.id(),
            selected.len()
        ));
        return;
    };
    let containers = deployment.doc["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
    for port in service.doc["spec"]["ports"].as_array().into_iter().flatten() {
        let target = if port["targetPort"].is_null() { &port["port"] } else { &port["targetPort"] };
        if !containers.iter().any(|c| has_port(c, target)) {
            out.push(format!("{}: targetPort {target} is not a container port of {}", service.id(), deployment.id()));
        }
    }
}

fn container_ports(container: &Value) -> Vec<Value> {
    container["ports"].as_array().cloned().unwrap_or_default()
}

/// A probe's or Service's port, by name or by number, is one the container declares.
fn has_port(container: &Value, port: &Value) -> bool {
    container_ports(container).iter().any(|p| match port {
        Value::String(name) => p["name"] == name.as_str(),
        Value::Number(_) => &p["containerPort"] == port,
        _ => false,
    })
}

pub fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"].as_array()?.iter().find(|v| v["name"] == name)?["value"].as_str()
}
