//! `GET /api/openapi.json`, generated from the handlers' annotations so it cannot drift.

use super::error::ConflictOut;
use super::{catalog, compare, deployments, events, json, releases, state};
use actix_web::HttpResponse;
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "releaseboard",
        description = "Release tracking: deployment events in, release matrices out."
    ),
    paths(
        events::post_deployment_event,
        events::post_build_event,
        releases::create,
        releases::list,
        releases::detail,
        releases::update,
        releases::add_version,
        compare::environments,
        compare::releases,
        releases::place_version,
        releases::remove_version,
        releases::versions,
        releases::release_deployments,
        releases::release_matrix,
        releases::audit,
        catalog::list_products,
        catalog::create_product,
        catalog::get_product,
        catalog::update_product,
        catalog::delete_product,
        catalog::list_versions,
        catalog::get_version,
        catalog::list_environments,
        catalog::create_environment,
        catalog::get_environment,
        catalog::update_environment,
        deployments::list,
        deployments::detail,
        state::get_state,
        state::health,
    ),
    components(schemas(
        json::DeploymentOut,
        json::VersionOut,
        json::ReleaseOut,
        super::error::Located,
        ConflictOut
    )),
    modifiers(&ApiKeyAuth, &ConflictBodies)
)]
pub struct ApiDoc;

/// The operations of the document: the writes (POST, PATCH, PUT, DELETE), and the reads too
/// when `with_reads`.
fn operations(
    doc: &mut utoipa::openapi::OpenApi,
    with_reads: bool,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    doc.paths.paths.values_mut().flat_map(move |item| {
        let get = if with_reads { item.get.as_mut() } else { None };
        [
            get,
            item.post.as_mut(),
            item.patch.as_mut(),
            item.put.as_mut(),
            item.delete.as_mut(),
        ]
        .into_iter()
        .flatten()
    })
}

/// Every 409 of the API has one body (SPEC §5): `detail`, the rule's `code` and `message`.
/// Said once here rather than on each operation, so that no 409 can be left without it.
struct ConflictBodies;

impl Modify for ConflictBodies {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let body = Content::new(Some(Ref::from_schema_name("ConflictOut")));
        for op in operations(doc, true) {
            if let Some(RefOr::T(conflict)) = op.responses.responses.get_mut("409") {
                conflict
                    .content
                    .insert("application/json".into(), body.clone());
            }
        }
    }
}

/// Declares the bearer API key (SPEC §7) and, on every write operation, that it is required:
/// 401 without a valid key, 403 when the key's scope does not allow the operation.
struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("rb_…")
                    .description(Some(
                        "`releaseboard api-key create NAME --scope ingest|write`; ingest keys \
                         may only post events",
                    ))
                    .build(),
            ),
        );
        for op in operations(doc, false) {
            op.security = Some(vec![SecurityRequirement::new(
                "api_key",
                Vec::<String>::new(),
            )]);
            op.responses
                .responses
                .insert("401".into(), RefOr::T(Response::new("no valid API key")));
            op.responses.responses.insert(
                "403".into(),
                RefOr::T(Response::new("the key's scope does not allow this")),
            );
            op.responses.responses.insert(
                "503".into(),
                RefOr::T(Response::new(
                    "too many writes are waiting for the database; retry after the \
                     `Retry-After` seconds",
                )),
            );
        }
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::ApiDoc;
    use serde_json::Value;
    use utoipa::OpenApi;

    /// The document as `GET /api/openapi.json` serves it.
    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("the document serializes")
    }

    /// The official schema of OpenAPI 3.1 documents (tests/fixtures/openapi-3.1.schema.json, see
    /// the README there).
    const OAS: &str = "https://spec.openapis.org/oas/3.1/schema/2022-10-07";

    /// Why `doc` is not a valid OpenAPI 3.1 document, if it is not. The official schema checks
    /// Schema Objects only for being objects, leaving them to a dialect (its `schema-base`
    /// variant); here, the same way, every Schema Object is also checked against JSON Schema
    /// 2020-12 itself: its `$dynamicRef: "#meta"` resolves to the anchor below.
    fn schema_errors(doc: &Value) -> Vec<String> {
        let oas: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/openapi-3.1.schema.json"
        ))
        .expect("the OpenAPI 3.1 schema parses");
        let registry = jsonschema::Registry::new()
            .add(OAS, oas)
            .and_then(|r| r.prepare())
            .expect("the OpenAPI 3.1 schema registers");
        let with_dialect = serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": OAS,
            "$defs": {"schema": {
                "$dynamicAnchor": "meta",
                "$ref": "https://json-schema.org/draft/2020-12/schema"
            }}
        });
        let validator = jsonschema::options()
            .with_registry(&registry)
            .build(&with_dialect)
            .expect("the schema compiles");
        validator
            .iter_errors(doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// Every operation of a path declares each `{param}` of the path, `in: path` and required,
    /// and declares no path parameter the path does not have.
    fn undeclared_path_parameters(doc: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            let mut wanted: Vec<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split('}').next())
                .collect();
            wanted.sort_unstable();
            let methods = [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ];
            for (method, op) in item
                .as_object()
                .expect("a path item")
                .iter()
                .filter(|(key, _)| methods.contains(&key.as_str()))
            {
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                let mut declared: Vec<String> = params
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| {
                        if p["required"] != true {
                            problems.push(format!("{method} {path}: {} not required", p["name"]));
                        }
                        p["name"].as_str().unwrap_or_default().to_string()
                    })
                    .collect();
                declared.sort_unstable();
                if declared != wanted {
                    problems.push(format!("{method} {path}: declares {declared:?}"));
                }
            }
        }
        problems
    }

    #[test]
    fn the_document_is_valid_openapi_3_1() {
        let doc = document();
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..4]), Some("3.1."));
        let errors = schema_errors(&doc);
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn every_path_parameter_is_declared() {
        let doc = document();
        let problems = undeclared_path_parameters(&doc);
        assert!(problems.is_empty(), "{problems:#?}");
        // Sixteen operations name eighteen parameters in their paths (two name two).
        let declared: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|item| item.as_object().expect("a path item").values())
            .map(|op| {
                op["parameters"]
                    .as_array()
                    .map_or(0, |ps| ps.iter().filter(|p| p["in"] == "path").count())
            })
            .sum();
        assert_eq!(declared, 18);
    }

    #[test]
    fn every_409_says_its_rule_with_one_of_the_codes() {
        let doc = document();
        let mut conflicts = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("a path item") {
                if let Some(r) = op["responses"].get("409") {
                    conflicts.push(format!("{method} {path}"));
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ConflictOut",
                        "{method} {path}"
                    );
                }
            }
        }
        // Both event routes, the release writes, the product and environment writes.
        assert_eq!(conflicts.len(), 12, "{conflicts:?}");
        let body = &doc["components"]["schemas"]["ConflictOut"];
        let mut required: Vec<&str> = body["required"]
            .as_array()
            .expect("required fields")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        required.sort_unstable();
        assert_eq!(required, ["code", "detail", "message"]);
        let codes: Vec<&str> = body["properties"]["code"]["enum"]
            .as_array()
            .expect("the codes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(codes, crate::domain::Conflict::CODES);
    }

    /// The checks above can fail: a document with a path parameter left out, and one that is
    /// not OpenAPI, are caught.
    #[test]
    fn the_checks_catch_a_broken_document() {
        let mut doc = document();
        let op = &mut doc["paths"]["/api/releases/{id}"]["get"];
        op["parameters"] = Value::Array(Vec::new());
        assert_eq!(
            undeclared_path_parameters(&doc),
            ["get /api/releases/{id}: declares []"]
        );
        // A Schema Object that is not JSON Schema (a type that does not exist).
        let mut wrong_type = document();
        wrong_type["components"]["schemas"]["VersionOut"]["type"] = Value::from(42);
        assert_eq!(
            schema_errors(&wrong_type).len(),
            1,
            "{:?}",
            schema_errors(&wrong_type)
        );
        let mut wrong_param = document();
        wrong_param["paths"]["/api/releases/{id}"]["get"]["parameters"][0]["schema"]["type"] =
            Value::from("uuid");
        assert!(!schema_errors(&wrong_param).is_empty());
        // Structure the OpenAPI schema itself forbids.
        doc["paths"]["/api/releases/{id}"]["get"]["responses"] = Value::String("none".into());
        doc["info"] = Value::Null;
        assert!(schema_errors(&doc).len() >= 2);
    }
}
