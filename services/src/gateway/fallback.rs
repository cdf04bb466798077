//! Answers for requests no route takes: 404 for an unknown path, 405 for a known path with the
//! wrong method (axum adds the `Allow` header listing the methods the path supports).

use axum::http::Method;
use bulwark_runtime::error::ServiceError;

use super::{ApiError, Correlation};

/// 404 `RESOURCE_ERROR` for any unknown route.
pub async fn not_found(Correlation(id): Correlation) -> ApiError {
    ApiError::new(ServiceError::not_found("Resource not found"), id)
}

/// 405 `RESOURCE_ERROR` for a known route called with the wrong method.
pub async fn method_not_allowed(Correlation(id): Correlation, method: Method) -> ApiError {
    ApiError::new(
        ServiceError::MethodNotAllowed {
            method: method.to_string(),
        },
        id,
    )
}
