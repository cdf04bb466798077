//! Extractors that fail in the standard format.
//!
//! - [`Correlation`]: the request's correlation ID (set by [`correlation`](super::correlation)).
//! - [`RequestContext`]: the [`CallContext`] for guarded calls: correlation ID, deadline, priority.
//! - [`ApiJson`]: a JSON body. A missing or wrong `Content-Type`, malformed JSON, a missing,
//!   unknown or wrongly typed field all answer 400 `VALIDATION_ERROR` naming the field in
//!   `details` (`body` when the problem is not one field's); a body over the limit answers 413.
//!   We answer a wrong content type with 400 rather than 415 so that every malformed request is a
//!   `VALIDATION_ERROR` with the seed table's status.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::ServiceError;
use serde::de::DeserializeOwned;

use super::ApiError;
use super::deadline::RequestDeadline;
use super::edge::RouteClass;
use super::limits::BodyLimit;

/// The request's correlation ID.
#[derive(Debug, Clone)]
pub struct Correlation(pub CorrelationId);

impl<S: Send + Sync> FromRequestParts<S> for Correlation {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Self(correlation_of(&parts.extensions)))
    }
}

/// The [`CallContext`] of the request: its correlation ID, its deadline (see
/// [`deadline`](super::deadline)) and the bulkhead priority of its route class. Pass it to every
/// guarded call the handler makes.
#[derive(Debug, Clone)]
pub struct RequestContext(pub CallContext);

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let mut ctx = CallContext::new(correlation_of(&parts.extensions))
            .with_priority(RouteClass::of(&parts.extensions).priority());
        if let Some(RequestDeadline(deadline)) = parts.extensions.get::<RequestDeadline>() {
            ctx = ctx.with_deadline(*deadline);
        }
        Ok(Self(ctx))
    }
}

/// The client's IP address, when the server knows it (Bulwark's server always does).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// Refuses any query string with 400 `VALIDATION_ERROR`: for routes that take no parameters,
/// so a typo'd parameter is an error rather than silently ignored.
#[derive(Debug, Clone, Copy)]
pub struct NoQuery;

impl<S: Send + Sync> FromRequestParts<S> for NoQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match parts.uri.query() {
            None => Ok(Self),
            Some(_) => Err(ApiError::new(
                ServiceError::validation_field("query", "this route takes no query parameters"),
                correlation_of(&parts.extensions),
            )),
        }
    }
}

/// The correlation ID the middleware stored, or a fresh one when the request did not pass it.
pub(crate) fn correlation_of(extensions: &Extensions) -> CorrelationId {
    extensions
        .get::<CorrelationId>()
        .cloned()
        .unwrap_or_else(CorrelationId::generate)
}

/// A JSON request body of type `T`, refused in the standard format when it does not fit.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let id = correlation_of(req.extensions());
        if !is_json(req.headers()) {
            let error = ServiceError::validation_field("content-type", "must be application/json");
            return Err(ApiError::new(error, id));
        }
        let limit = req.extensions().get::<BodyLimit>().copied();
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let error = if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ServiceError::PayloadTooLarge {
                    limit_bytes: limit.unwrap_or_default().bytes() as u64,
                }
            } else {
                ServiceError::validation_field("body", "could not be read")
            };
            ApiError::new(error, id.clone())
        })?;
        decode(&bytes)
            .map(Self)
            .map_err(|error| ApiError::new(error, id))
    }
}

/// `application/json` or any `application/*+json`, parameters (charset) ignored.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Decodes JSON into `T`, turning every failure into a `VALIDATION_ERROR` that names the field.
/// Shared by every transport (HTTP here, the broker adapter later) so they refuse alike.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServiceError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        field_error(&path, e.inner())
    })?;
    deserializer.end().map_err(|e| field_error(".", &e))?;
    Ok(value)
}

fn field_error(path: &str, error: &serde_json::Error) -> ServiceError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof => {
            ServiceError::validation_field("body", format!("invalid JSON: {error}"))
        }
        Category::Io => ServiceError::validation_field("body", "could not be read"),
        Category::Data => {
            let message = without_position(error);
            // serde reports a missing field at its parent's path; name the field itself.
            let field = match (missing_field(&message), path) {
                (Some(name), ".") => name.to_owned(),
                (Some(name), parent) => format!("{parent}.{name}"),
                (None, path) => path.to_owned(),
            };
            let field = if field == "." {
                "body".to_owned()
            } else {
                field
            };
            ServiceError::validation_field(field, message)
        }
    }
}

/// serde's message without serde_json's " at line L column C" suffix.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix)
        .map(str::to_owned)
        .unwrap_or(text)
}

/// The field a "missing field `x`" message is about.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Req {
        text: String,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    struct Item {
        score: f64,
    }

    fn details(bytes: &str) -> Vec<(String, String)> {
        let error = decode::<Req>(bytes.as_bytes()).unwrap_err();
        assert_eq!(error.status(), 400);
        error.public_details().into_iter().collect()
    }

    #[test]
    fn a_wrongly_typed_field_is_named() {
        let d = details(r#"{"text": 5}"#);
        assert_eq!(d[0].0, "text");
        assert_eq!(d[0].1, "invalid type: integer `5`, expected a string");
    }

    #[test]
    fn nested_paths_are_named() {
        let d = details(r#"{"text": "a", "items": [{"score": 1}, {"score": "x"}]}"#);
        assert_eq!(d[0].0, "items[1].score");
        let d = details(r#"{"text": "a", "items": [{}]}"#);
        assert_eq!(
            d[0],
            ("items[0].score".into(), "missing field `score`".into())
        );
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        assert_eq!(
            details("{}")[0],
            ("text".into(), "missing field `text`".into())
        );
        assert_eq!(details(r#"{"text": "a", "txet": 1}"#)[0].0, "txet");
    }

    #[test]
    fn malformed_json_is_a_body_error() {
        for bad in [r#"{"text": "#, "not json", "", r#"{"text": "a"} trailing"#] {
            let d = details(bad);
            assert_eq!(d[0].0, "body", "{bad}");
            assert!(d[0].1.starts_with("invalid JSON"), "{bad}: {}", d[0].1);
        }
        assert_eq!(details("5")[0].0, "body");
    }

    #[test]
    fn json_content_types_are_recognised() {
        let check = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(check("application/json"));
        assert!(check("Application/JSON; charset=utf-8"));
        assert!(check("application/problem+json"));
        assert!(!check("text/plain"));
        assert!(!check("application/jsonx"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
