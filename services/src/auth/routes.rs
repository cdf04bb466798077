//! The auth routes: `POST /v1/auth/register`, `POST /v1/auth/token`, `GET /v1/auth/me`.
//!
//! Thin: each handler takes the request's context and body in the standard extractors, calls
//! [`AuthService`] and answers its errors in the standard format. Token answers carry
//! `Cache-Control: no-store`; a 401 carries `WWW-Authenticate: Bearer`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bulwark_runtime::error::ServiceError;
use utoipa::OpenApi;

use super::scope::READ;
use super::service::{Principal, RegisteredUser, TokenResponse};
use super::{AuthError, AuthService, Credentials};
use crate::gateway::extract::ClientAddr;
use crate::gateway::{ApiError, ApiJson, RequestContext};

/// The auth routes' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(register, token, me),
    components(schemas(Credentials, RegisteredUser, TokenResponse, Principal)),
    tags((name = "auth", description = "Users and bearer tokens"))
)]
pub struct AuthApi;

/// The routes, over any application state.
pub fn routes<S: Clone + Send + Sync + 'static>(auth: AuthService) -> Router<S> {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/token", post(token))
        .route("/v1/auth/me", get(me))
        .with_state(auth)
}

fn failure(error: AuthError, id: bulwark_runtime::correlation::CorrelationId) -> Response {
    let unauthorized = matches!(
        error,
        AuthError::InvalidCredentials | AuthError::MissingToken | AuthError::Token(_)
    );
    let mut response = ApiError::new(ServiceError::from(error), id).into_response();
    if unauthorized {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// `POST /v1/auth/register`.
#[utoipa::path(
    post,
    path = "/v1/auth/register",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 201, description = "Registered", body = RegisteredUser),
        (status = 409, description = "Username taken: RESOURCE_ERROR", body = bulwark_runtime::error::ErrorResponse),
    )
)]
pub async fn register(
    State(auth): State<AuthService>,
    RequestContext(ctx): RequestContext,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Response {
    match auth.register(&ctx, &credentials).await {
        Ok(user) => (StatusCode::CREATED, Json(user)).into_response(),
        Err(error) => failure(error, ctx.correlation_id().clone()),
    }
}

/// `POST /v1/auth/token`.
#[utoipa::path(
    post,
    path = "/v1/auth/token",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 401, description = "Invalid username or password: AUTH_ERROR", body = bulwark_runtime::error::ErrorResponse),
    )
)]
pub async fn token(
    State(auth): State<AuthService>,
    RequestContext(ctx): RequestContext,
    ClientAddr(client): ClientAddr,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Response {
    match auth.login(&ctx, &credentials, client).await {
        Ok(issued) => (
            [
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::PRAGMA, HeaderValue::from_static("no-cache")),
            ],
            Json(issued),
        )
            .into_response(),
        Err(error) => failure(error, ctx.correlation_id().clone()),
    }
}

/// `GET /v1/auth/me`: who the bearer token speaks for (needs the `read` scope).
#[utoipa::path(
    get,
    path = "/v1/auth/me",
    tag = "auth",
    params(("authorization" = Option<String>, Header, description = "`Bearer <token>`")),
    responses(
        (status = 200, description = "The token's principal", body = Principal),
        (status = 401, description = "Missing or invalid token: AUTH_ERROR", body = bulwark_runtime::error::ErrorResponse),
        (status = 403, description = "The token lacks the `read` scope: AUTH_ERROR", body = bulwark_runtime::error::ErrorResponse),
    )
)]
pub async fn me(
    State(auth): State<AuthService>,
    RequestContext(ctx): RequestContext,
    headers: HeaderMap,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match auth.authorize(authorization, READ) {
        Ok(principal) => Json(principal).into_response(),
        Err(error) => failure(error, ctx.correlation_id().clone()),
    }
}

/// `bulwark.v1.auth.validate` request: a bearer token to check (never logged).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    /// The token, without `Bearer `.
    pub token: String,
}

impl std::fmt::Debug for ValidateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidateRequest")
            .field("token", &"***")
            .finish()
    }
}

/// The answer of the `bulwark.v1.auth.validate` subject: what `GET /v1/auth/me` answers for the
/// same token (401 without a valid one, 403 without the `read` scope).
pub async fn validate(
    auth: AuthService,
    _ctx: bulwark_runtime::dependency::CallContext,
    request: ValidateRequest,
) -> Result<Principal, ServiceError> {
    Ok(auth.authorize_token(Some(&request.token), READ)?)
}
