//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, generated from the handlers'
//! types (utoipa).
//!
//! Each route declares its success answers; [`document`] adds what every route shares, so no
//! route can forget it: the optional `X-Correlation-ID` and `X-Request-Timeout` headers, and the
//! standard error schema ([`ErrorResponse`]) for each error status the gateway itself can answer
//! (400, 429, 500, 503, 504; 413 where there is a body). Pipelines add their routes by merging
//! their own `#[derive(OpenApi)]` documents into it.

use axum::Json;
use axum::extract::State;
use bulwark_runtime::correlation::CORRELATION_HEADER;
use bulwark_runtime::error::{ErrorCode, ErrorResponse};
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};

use super::deadline::REQUEST_TIMEOUT_HEADER;
use super::extract::NoQuery;
use super::{AppState, health, prometheus, status};

/// The service's own routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bulwark",
        description = "Resilient service runtime: pipelines behind circuit breakers, bulkheads, retries and fallbacks. Every error answers in one JSON format with the request's correlation ID.",
    ),
    paths(
        health::livez,
        health::readyz,
        status::status,
        prometheus::metrics,
        openapi_json,
    ),
    components(schemas(ErrorResponse, ErrorCode)),
    tags((name = "operations", description = "Health, status, metrics and this document"))
)]
pub struct ApiDoc;

/// The statuses every route may answer with the standard error.
const SHARED_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "Malformed request (query, headers or body): VALIDATION_ERROR",
    ),
    (
        "429",
        "Over the client's rate: RATE_LIMIT_ERROR, with Retry-After",
    ),
    (
        "500",
        "Internal fault: SYSTEM_ERROR (no internals in the message)",
    ),
    (
        "503",
        "Overloaded or a dependency unavailable: DEPENDENCY_ERROR, with Retry-After",
    ),
    ("504", "The request's deadline passed: DEPENDENCY_ERROR"),
];

/// The document for these routes: the service's own, merged with `extra` (the pipelines'),
/// completed with the shared headers and error answers.
pub fn document(
    extra: impl IntoIterator<Item = utoipa::openapi::OpenApi>,
) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for other in extra {
        doc.merge(other);
    }
    for item in doc.paths.paths.values_mut() {
        let operations = [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, false),
        ];
        for (operation, has_body) in operations {
            if let Some(operation) = operation.as_mut() {
                complete(operation, has_body);
            }
        }
    }
    doc
}

fn complete(operation: &mut Operation, has_body: bool) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    parameters.push(RefOr::T(
        ParameterBuilder::new()
            .name(CORRELATION_HEADER)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Correlation ID (1–128 printable ASCII); a fresh one is made when absent or invalid, and echoed",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(128)),
            ))
            .build(),
    ));
    parameters.push(RefOr::T(
        ParameterBuilder::new()
            .name(REQUEST_TIMEOUT_HEADER)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Lowers the request's deadline (milliseconds); never raises it above the server's",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(3_600_000)),
            ))
            .build(),
    ));
    let body_error = has_body.then_some(("413", "Body over the limit: VALIDATION_ERROR"));
    for (status, description) in SHARED_ERRORS.iter().copied().chain(body_error) {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorResponse")))
                    .build(),
            )
            .build(),
    )
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object))
)]
pub async fn openapi_json(State(state): State<AppState>, _: NoQuery) -> Json<serde_json::Value> {
    Json(state.openapi().clone())
}
