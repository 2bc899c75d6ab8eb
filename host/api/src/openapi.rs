//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers' `#[utoipa::path]`
//! annotations and the DTOs' schemas, served at `GET /api/openapi.json`. The suite checks it
//! against a running host with schemathesis, so what it says is what the host does.

use axum::Json;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OneOfBuilder, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::routes;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hops",
        description = "The HTTP API of a Hops host: start runs (events, tasks), follow and replay them, answer inputs, list apps. Everything under /api needs `Authorization: Bearer <HOPS_API_TOKEN>` when the host has a token, or the trusted auth-proxy header when it has one; /health, /ready, /metrics and /api/openapi.json never do.",
    ),
    paths(
        routes::health::health,
        routes::health::ready,
        routes::metrics::metrics,
        routes::events::send,
        routes::tasks::list,
        routes::tasks::run,
        routes::runs::list,
        routes::runs::show,
        routes::live::follow,
        routes::runs::replay,
        routes::runs::purge,
        routes::inputs::list,
        routes::inputs::answer,
        routes::apps::list,
        routes::problems::show,
        document,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "runs", description = "Start runs and follow them"),
        (name = "inputs", description = "Calls waiting for a person's answer"),
        (name = "host", description = "Health, readiness, metrics, apps"),
    )
)]
pub(crate) struct ApiDoc;

/// Declares the bearer-token scheme the `/api` routes name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("HOPS_API_TOKEN"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "host",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object))
)]
pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A source event: any JSON object with `hops.event` (and optionally `hops.source`,
/// `hops.action`); for the schema only.
pub(crate) struct EventBody;

impl PartialSchema for EventBody {
    fn schema() -> RefOr<Schema> {
        let text =
            || ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]));
        let hops = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .property(
                "event",
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .min_length(Some(1))
                    .description(Some("Matched by `on \"<event>\"` pipelines")),
            )
            .property("source", text())
            .property("action", text())
            .required("event");
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .property("hops", hops)
            .required("hops")
            .description(Some(
                "The event's data, any JSON object, with its `hops` metadata",
            ))
            .into()
    }
}

impl ToSchema for EventBody {}

/// Param values by name (strings, numbers, booleans), for task params and input answers.
pub(crate) struct ParamValues;

impl PartialSchema for ParamValues {
    fn schema() -> RefOr<Schema> {
        let value = OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::String)))
            .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::Number)))
            .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::Boolean)));
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .additional_properties(Some(Schema::OneOf(value.build())))
            .description(Some(
                "Values by param name; types, required params and unknown names are checked by the host",
            ))
            .into()
    }
}

impl ToSchema for ParamValues {}

/// The app listing: one object per app (its shape belongs to the wasm layer).
pub(crate) struct AppList;

impl PartialSchema for AppList {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::Object))
                    .property(
                        "name",
                        ObjectBuilder::new().schema_type(SchemaType::new(Type::String)),
                    )
                    .required("name"),
            )
            .into()
    }
}

impl ToSchema for AppList {}

/// One Server-Sent Event of `GET /api/runs/{id}/live`.
pub(crate) struct LiveEvent;

impl PartialSchema for LiveEvent {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .property(
                "event",
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .enum_values(Some(["run", "end"]))
                    .description(Some("`run`: data is a RunView (JSON); `end`: the run finished (or can no longer be read), data says how")),
            )
            .property(
                "data",
                ObjectBuilder::new().schema_type(SchemaType::new(Type::String)),
            )
            .required("event")
            .required("data")
            .into()
    }
}

impl ToSchema for LiveEvent {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_names_every_route() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/health",
            "/ready",
            "/metrics",
            "/api/events",
            "/api/tasks",
            "/api/tasks/{name}/runs",
            "/api/runs",
            "/api/runs/{id}",
            "/api/runs/{id}/live",
            "/api/runs/{id}/replay",
            "/api/runs/purge",
            "/api/inputs",
            "/api/runs/{id}/inputs/{call}",
            "/api/apps",
            "/api/openapi.json",
        ] {
            assert!(paths.contains_key(path), "{path} is missing");
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}
