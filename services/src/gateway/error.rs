//! [`ApiError`]: a [`ServiceError`] on its way out as an HTTP response in the standard format.
//!
//! The body is the [`ErrorResponse`] JSON; the `X-Correlation-ID` header repeats the body's
//! `correlation_id`; `Retry-After` (whole seconds, rounded up) is set when the error knows when to
//! come back. Server errors (5xx) are logged with their whole cause chain — which never reaches the
//! caller — and client errors at debug level.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::error::{ErrorCode, ErrorResponse, ServiceError, Timestamp};

use super::correlation::CORRELATION_HEADER_NAME;

/// A failed request: the error and the correlation ID it is answered with.
#[derive(Debug)]
pub struct ApiError {
    error: ServiceError,
    correlation_id: CorrelationId,
}

impl ApiError {
    /// `error`, answered for the request identified by `correlation_id`.
    pub fn new(error: ServiceError, correlation_id: CorrelationId) -> Self {
        Self {
            error,
            correlation_id,
        }
    }

    /// The error.
    pub fn error(&self) -> &ServiceError {
        &self.error
    }

    /// The request's correlation ID.
    pub fn correlation_id(&self) -> &CorrelationId {
        &self.correlation_id
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.error, self.correlation_id)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log(&self.error);
        let mut response = respond(self.error.to_response(&self.correlation_id));
        if let Some(secs) = self.error.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Marks a response as already in the standard error format and records its code (for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardError(pub ErrorCode);

/// The response for a wire-format body: status, JSON, correlation header, [`StandardError`] marker.
pub fn respond(body: ErrorResponse) -> Response {
    let status =
        StatusCode::from_u16(body.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = body.error_code;
    let correlation = HeaderValue::from_str(&body.correlation_id).ok();
    let mut response = (status, Json(body)).into_response();
    if let Some(value) = correlation {
        response
            .headers_mut()
            .insert(CORRELATION_HEADER_NAME, value);
    }
    response.extensions_mut().insert(StandardError(code));
    response
}

/// `error` in the standard format with extra top-level fields (an object's keys), for answers
/// that say more than the standard fields can — `/readyz`'s 503 lists its dependencies. The
/// standard fields always win over an extra key of the same name.
pub fn respond_with(
    error: &ServiceError,
    correlation_id: &CorrelationId,
    extra: serde_json::Value,
) -> Response {
    log(error);
    let body = error.to_response(correlation_id);
    let code = body.error_code;
    let status =
        StatusCode::from_u16(body.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut json = match extra {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    if let Ok(serde_json::Value::Object(standard)) = serde_json::to_value(&body) {
        json.extend(standard);
    }
    let mut response = (status, Json(json)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(correlation_id.as_str()) {
        headers.insert(CORRELATION_HEADER_NAME, value);
    }
    if let Some(secs) = error.retry_after_secs() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response.extensions_mut().insert(StandardError(code));
    response
}

/// Replaces an error response that is not in the standard format (one made by a framework
/// extractor or a layer rather than by [`ApiError`]) with one that is, keeping its status and its
/// `Allow` and `Retry-After` headers. The original body is dropped unread: it may hold internals.
/// Other responses are returned unchanged.
pub fn standardize(response: Response, correlation_id: &CorrelationId) -> Response {
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    if !is_error || response.extensions().get::<StandardError>().is_some() {
        return response;
    }
    tracing::debug!(
        status = status.as_u16(),
        "replacing a non-standard error response"
    );
    let body = ErrorResponse {
        error: true,
        status_code: status.as_u16(),
        message: status
            .canonical_reason()
            .unwrap_or("Request failed")
            .to_owned(),
        details: Default::default(),
        error_code: code_for(status),
        correlation_id: correlation_id.to_string(),
        timestamp: Timestamp::now(),
    };
    let mut standard = respond(body);
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            standard.headers_mut().insert(name, value.clone());
        }
    }
    standard
}

/// The error code a bare status belongs to.
pub fn code_for(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 | 403 => ErrorCode::AuthError,
        404 | 405 | 409 | 410 => ErrorCode::ResourceError,
        422 => ErrorCode::ProcessingError,
        429 => ErrorCode::RateLimitError,
        502..=504 => ErrorCode::DependencyError,
        400..=499 => ErrorCode::ValidationError,
        _ => ErrorCode::SystemError,
    }
}

/// Logs a failed request: 5xx at error level with the whole cause chain, others at debug.
pub(crate) fn log(error: &ServiceError) {
    let status = error.status();
    if status == 503 && error.retry_after().is_some() {
        // A deliberate refusal (load shed, open circuit, full queue): expected under overload
        // and counted in the metrics, so not an error line per request.
        tracing::warn!(
            status,
            error_code = error.code().as_str(),
            error = %error,
            "request refused: service busy or dependency unavailable"
        );
    } else if status >= 500 {
        tracing::error!(
            status,
            error_code = error.code().as_str(),
            error = %bulwark_runtime::error::chain(error),
            "request failed"
        );
    } else {
        tracing::debug!(
            status,
            error_code = error.code().as_str(),
            error = %error,
            "request refused"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::to_bytes;
    use bulwark_runtime::error::DependencyFailure;

    use super::*;
    use bulwark_runtime::correlation::CORRELATION_HEADER;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn an_api_error_answers_in_the_standard_format_with_headers() {
        let id = CorrelationId::parse("c-1").unwrap();
        let error = ServiceError::Dependency {
            source: None,
            message: "Dependency 'llm' unavailable".into(),
            failure: DependencyFailure::Unavailable,
            details: Default::default(),
            retry_after: Some(Duration::from_millis(2_100)),
        };
        let response = ApiError::new(error, id).into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[CORRELATION_HEADER], "c-1");
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            response.extensions().get::<StandardError>(),
            Some(&StandardError(ErrorCode::DependencyError))
        );
        let json = body_json(response).await;
        assert_eq!(json["error_code"], "DEPENDENCY_ERROR");
        assert_eq!(json["correlation_id"], "c-1");
    }

    #[tokio::test]
    async fn a_system_error_hides_its_cause() {
        let id = CorrelationId::generate();
        let error = ServiceError::system(std::io::Error::other("secret internals"));
        let json = body_json(ApiError::new(error, id).into_response()).await;
        assert_eq!(json["message"], "Internal server error");
        assert!(!json.to_string().contains("secret internals"));
    }

    #[tokio::test]
    async fn foreign_error_responses_are_standardized() {
        let id = CorrelationId::parse("c-2").unwrap();
        let mut foreign = (StatusCode::METHOD_NOT_ALLOWED, "internal text").into_response();
        foreign
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
        let response = standardize(foreign, &id);
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[header::ALLOW], "GET,HEAD");
        assert_eq!(response.headers()[CORRELATION_HEADER], "c-2");
        let json = body_json(response).await;
        assert_eq!(json["error_code"], "RESOURCE_ERROR");
        assert_eq!(json["message"], "Method Not Allowed");
        assert!(!json.to_string().contains("internal text"));
    }

    #[tokio::test]
    async fn success_and_standard_responses_pass_unchanged() {
        let id = CorrelationId::generate();
        let ok = standardize("fine".into_response(), &id);
        assert_eq!(ok.status(), 200);
        let other = CorrelationId::parse("keep").unwrap();
        let standard = ApiError::new(ServiceError::not_found("x"), other).into_response();
        let json = body_json(standardize(standard, &id)).await;
        assert_eq!(json["correlation_id"], "keep");
    }

    #[test]
    fn bare_statuses_map_to_codes() {
        assert_eq!(code_for(StatusCode::UNAUTHORIZED), ErrorCode::AuthError);
        assert_eq!(code_for(StatusCode::NOT_FOUND), ErrorCode::ResourceError);
        assert_eq!(
            code_for(StatusCode::PAYLOAD_TOO_LARGE),
            ErrorCode::ValidationError
        );
        assert_eq!(
            code_for(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ErrorCode::ValidationError
        );
        assert_eq!(
            code_for(StatusCode::TOO_MANY_REQUESTS),
            ErrorCode::RateLimitError
        );
        assert_eq!(
            code_for(StatusCode::GATEWAY_TIMEOUT),
            ErrorCode::DependencyError
        );
        assert_eq!(
            code_for(StatusCode::INTERNAL_SERVER_ERROR),
            ErrorCode::SystemError
        );
    }
}
