//! The OpenAPI document and the docs page: served, 3.1, and true to the router.

use serde_json::Value;

use crate::support::spawn_app;

#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_documented_route_exists() {
    let app = spawn_app().await;
    let res = app.get("/openapi.json").await;
    assert_eq!(res.status().as_u16(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert_eq!(doc, serde_json::to_value(atelier_server::openapi()).unwrap(), "served as built");
    let paths = doc["paths"].as_object().unwrap();
    for expected in ["/v1/images", "/v1/uploads/{id}", "/v1/pipelines/{name}/versions", "/v1/jobs/{id}/outputs/{name}"]
    {
        assert!(paths.contains_key(expected), "{expected} is documented");
    }
    let mut checked = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace(['{', '}'], "");
            let url = app.url(&concrete);
            let request = match method.as_str() {
                "get" => app.client.get(url),
                "post" => app.client.post(url),
                "put" => app.client.put(url),
                "delete" => app.client.delete(url),
                "patch" => app.client.patch(url),
                other => panic!("unexpected method {other} on {path}"),
            };
            let res = request.send().await.unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_ne!(status, 405, "{method} {path} is routed");
            assert!(status < 500 || path == "/readyz", "{method} {path}: {status} {body}");
            assert_ne!(body["message"], "no such route", "{method} {path} is routed");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} operations documented");
}

#[tokio::test]
async fn the_docs_page_and_its_assets_are_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/docs/").await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "no asset comes from a CDN");
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/swagger-initializer.js"] {
        let res = app.get(asset).await;
        assert_eq!(res.status().as_u16(), 200, "{asset}");
        assert!(res.bytes().await.unwrap().len() > 100, "{asset}");
    }
    let initializer = app.get("/docs/swagger-initializer.js").await.text().await.unwrap();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
}

#[test]
fn path_parameters_and_event_streams_are_documented_as_served() {
    let doc = serde_json::to_value(atelier_server::openapi()).unwrap();
    let mut with_path = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
            let in_path: Vec<&Value> = parameters.iter().filter(|p| p["in"] == "path").collect();
            if in_path.is_empty() {
                continue;
            }
            with_path += 1;
            // `AppPath` refuses a parameter that is not UTF-8 or holds a control character.
            assert!(operation["responses"]["400"].is_object(), "{method} {path} documents 400");
            for parameter in in_path.iter().filter(|p| p["schema"]["type"] == "string") {
                assert!(parameter["schema"]["pattern"].is_string(), "{method} {path}: {parameter}");
            }
        }
    }
    assert!(with_path >= 15, "only {with_path} operations take path parameters");
    // Each event of the stream is documented with its `data` schema, as OpenAPI 3.1 tools read it.
    let events = &doc["components"]["schemas"]["StreamEvent"]["oneOf"];
    let names: Vec<&str> =
        events.as_array().unwrap().iter().map(|e| e["properties"]["event"]["enum"][0].as_str().unwrap()).collect();
    assert_eq!(names, ["job", "item", "end", "error"]);
    for event in events.as_array().unwrap() {
        let target = event["properties"]["data"]["contentSchema"]["$ref"].as_str().unwrap();
        let name = target.strip_prefix("#/components/schemas/").unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "{target} exists");
    }
}
