//! The endpoints under test, read from the OpenAPI document the server serves: the matrix
//! follows the router, so a new route is covered without anyone editing a list.

use serde_json::Value;

/// One documented operation, as the matrix needs it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `GET`, `POST`, ...
    pub method: reqwest::Method,
    /// The documented path, e.g. `/v1/images/{id}`.
    pub template: String,
    pub path_params: Vec<String>,
    pub query: Vec<Param>,
    /// The JSON request body's schema (resolved) and its component name, if it takes JSON.
    pub json: Option<(String, Value)>,
    /// Takes raw bytes (`application/octet-stream`).
    pub raw: bool,
    /// Takes `multipart/form-data`.
    pub multipart: bool,
    /// The form's file field: `file` for an image, `archive` for an archive of images.
    pub file_field: &'static str,
    /// Whether the request body may be left out.
    pub body_optional: bool,
}

/// A query parameter and its schema.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub required: bool,
    pub schema: Value,
}

impl Endpoint {
    /// `METHOD /template`, how failures name the operation.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    /// Whether the form's file is an archive of images rather than one image.
    pub fn takes_archive(&self) -> bool {
        self.file_field == "archive"
    }

    pub fn takes_body(&self) -> bool {
        self.json.is_some() || self.raw || self.multipart
    }
}

/// The OpenAPI document as JSON, with `$ref` resolution.
pub struct Doc(Value);

impl Doc {
    pub fn load() -> Doc {
        Doc(serde_json::to_value(atelier_server::openapi()).unwrap())
    }

    /// Every operation in the document, in path order.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let mut out = Vec::new();
        for (template, item) in self.0["paths"].as_object().expect("the document has paths") {
            for (method, op) in item.as_object().unwrap() {
                let Ok(method) = method.to_ascii_uppercase().parse::<reqwest::Method>() else { continue };
                if !op.is_object() || op.get("responses").is_none() {
                    continue;
                }
                out.push(self.endpoint(method, template, op));
            }
        }
        out
    }

    fn endpoint(&self, method: reqwest::Method, template: &str, op: &Value) -> Endpoint {
        let mut path_params = Vec::new();
        let mut query = Vec::new();
        for param in op["parameters"].as_array().into_iter().flatten() {
            let param = self.resolve(param);
            let name = param["name"].as_str().unwrap().to_string();
            match param["in"].as_str() {
                Some("path") => path_params.push(name),
                Some("query") => query.push(Param {
                    name,
                    required: param["required"].as_bool().unwrap_or(false),
                    schema: self.resolve(&param["schema"]),
                }),
                _ => {}
            }
        }
        let content = op["requestBody"]["content"].as_object().cloned().unwrap_or_default();
        let json = content.get("application/json").map(|media| {
            let schema = &media["schema"];
            let name = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()).unwrap_or("inline").to_string();
            (name, self.resolve(schema))
        });
        Endpoint {
            method,
            template: template.to_string(),
            path_params,
            query,
            json,
            raw: content.contains_key("application/octet-stream"),
            multipart: content.contains_key("multipart/form-data"),
            file_field: match content.get("multipart/form-data") {
                Some(form) if self.resolve(&form["schema"])["properties"].get("archive").is_some() => "archive",
                _ => "file",
            },
            body_optional: op["requestBody"]["required"].as_bool() != Some(true),
        }
    }

    /// `schema` with a top-level `$ref` followed (repeatedly).
    pub fn resolve(&self, schema: &Value) -> Value {
        let mut schema = schema.clone();
        for _ in 0..8 {
            let Some(reference) = schema["$ref"].as_str() else { return schema };
            let pointer = reference.trim_start_matches('#').to_string();
            schema = self.0.pointer(&pointer).unwrap_or_else(|| panic!("dangling {reference}")).clone();
        }
        panic!("a $ref chain too long")
    }

    /// The JSON types a schema allows; empty means any value.
    pub fn types(&self, schema: &Value) -> Vec<String> {
        let schema = self.resolve(schema);
        let mut types: Vec<String> = match &schema["type"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many.iter().filter_map(|t| t.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        };
        for key in ["oneOf", "anyOf"] {
            for branch in schema[key].as_array().into_iter().flatten() {
                let branch_types = self.types(branch);
                if branch_types.is_empty() {
                    return Vec::new();
                }
                types.extend(branch_types);
            }
        }
        types
    }
}

/// Whether `value` is of one of `types` (an empty list allows anything).
pub fn allowed(types: &[String], value: &Value) -> bool {
    types.is_empty()
        || types.iter().any(|t| match t.as_str() {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        })
}
