//! The OpenAPI 3.1 document. Routes are registered through `utoipa_axum`, so the router
//! and the document come from one table and a route cannot exist undocumented; the docs
//! page (Swagger UI) is compiled into the binary and works offline.

use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, Schema};
use utoipa::OpenApi;

use crate::error::ErrorBody;
use crate::routes::jobs::events::{ItemEvent, JobEvent};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "atelier",
        description = "Image processing and computer vision: uploads, saved pipelines, a durable job queue \
                       and results. Every error answers `{code, message}`; clients match on `code`.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Register, sign in, refresh and sign out"),
        (name = "account", description = "The signed-in account: password, credits, API keys"),
        (name = "admin", description = "Users, credits, invites and every job; admins only"),
        (name = "ops", description = "The op catalogue"),
        (name = "images", description = "Uploaded originals"),
        (name = "uploads", description = "Resumable uploads in parts, for big files"),
        (name = "pipelines", description = "Saved, versioned pipelines"),
        (name = "categories", description = "Your own image categories, made from example photos, for `classify`"),
        (name = "jobs", description = "Pipelines run over images by workers"),
        (name = "datasets", description = "Archives of images with their metadata; dataset jobs filter, augment and \
                                           classify them in batches"),
    ),
    paths(crate::routes::jobs::output),
    // The event stream's payloads: no operation's body names them, so they are listed here.
    components(schemas(ErrorBody, JobEvent, ItemEvent))
)]
pub(crate) struct ApiDoc;

/// What `AppPath` accepts in a text path parameter: no control character (Unicode `Cc`).
const PATH_TEXT: &str = r"^[^\u0000-\u001F\u007F-\u009F]+$";

/// What the finished document needs that no single annotation can say: every operation with
/// a path parameter answers 400 when `AppPath` refuses one (not UTF-8, or a control character),
/// and its text parameters say which characters they take. Run on the merged document, so
/// routes added anywhere are covered.
/// Likewise, every operation that does not declare itself public (`security(())`) needs a
/// bearer token, and answers 401 without one and 403 for a key lacking the scope.
pub(crate) fn finish(document: &mut utoipa::openapi::OpenApi) {
    let scheme = SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build());
    let components = document.components.get_or_insert_with(Default::default);
    components.security_schemes.insert(BEARER.to_string(), scheme);
    for item in document.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            document_path_rejection(operation);
            document_security(operation);
            document_json_rejection(operation);
        }
    }
}

/// Every operation that takes a JSON body answers 400 when it is malformed (syntax, types,
/// unknown fields) and 415 when it is not declared JSON, as `AppJson` and `OptionalJson` do.
fn document_json_rejection(operation: &mut Operation) {
    let takes_json = operation.request_body.as_ref().is_some_and(|body| body.content.contains_key("application/json"));
    if !takes_json {
        return;
    }
    let answers = [
        ("400", "Malformed JSON, a field of the wrong type, or an unknown field"),
        ("415", "A body not sent as `application/json`"),
    ];
    let responses = &mut operation.responses.responses;
    for (status, description) in answers {
        if !responses.contains_key(status) {
            responses.insert(status.to_string(), error_response(description).into());
        }
    }
}

/// The security scheme's name: an access token or an API key, both sent as a bearer token.
const BEARER: &str = "bearer";

fn document_security(operation: &mut Operation) {
    if operation.security.is_some() {
        return; // declared public
    }
    operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    let responses = &mut operation.responses.responses;
    let answers = [
        ("401", "No token, or one that is malformed, expired or revoked"),
        ("403", "An API key without the scope this needs, or a route for admins only"),
    ];
    for (status, description) in answers {
        if !responses.contains_key(status) {
            responses.insert(status.to_string(), error_response(description).into());
        }
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    ResponseBuilder::new().description(description).content("application/json", body).build()
}

fn document_path_rejection(operation: &mut Operation) {
    let mut takes_path = false;
    for parameter in operation.parameters.iter_mut().flatten() {
        if parameter.parameter_in != ParameterIn::Path {
            continue;
        }
        takes_path = true;
        if let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema {
            if schema.schema_type == SchemaType::Type(Type::String) && schema.pattern.is_none() {
                schema.pattern = Some(PATH_TEXT.to_string());
            }
        }
    }
    let responses = &mut operation.responses.responses;
    if takes_path && !responses.contains_key("400") {
        let response = error_response("A path parameter that is not UTF-8 or holds a control character");
        responses.insert("400".to_string(), response.into());
    }
}

/// The schema of one Server-Sent Event, as OpenAPI 3.1 tools read a `text/event-stream`
/// body's schema (each event an object of its fields): one variant per `(event, schema)` pair,
/// whose `data` is JSON valid against the named component schema.
pub(crate) fn sse_event(variants: &[(&str, &str)]) -> RefOr<Schema> {
    let mut one_of = OneOfBuilder::new();
    for (event, schema) in variants {
        let payload = serde_json::json!({ "$ref": format!("#/components/schemas/{schema}") });
        // `contentSchema` has no builder in utoipa; extensions serialise as plain keywords.
        let content_schema = Extensions::from_iter([("contentSchema", payload)]);
        let data = ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/json")
            .extensions(Some(content_schema));
        let variant = ObjectBuilder::new()
            .property("event", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([*event])))
            .property("data", data)
            .property("id", ObjectBuilder::new().schema_type(Type::String))
            .property("retry", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
            .required("event")
            .required("data");
        one_of = one_of.item(variant);
    }
    one_of.into()
}
