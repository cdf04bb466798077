//! The subject table: each request subject names the pipeline function that answers it — the
//! same function the HTTP route calls, so validation, fallbacks and error mapping are shared and
//! a reply is byte for byte the HTTP answer's body.
//!
//! Adding a subject is one line in [`table`].

use std::future::Future;
use std::sync::Arc;

use bulwark_runtime::bulkhead::Priority;
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::ServiceError;
use bytes::Bytes;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::envelope::{Envelope, Outgoing};
use crate::auth::{AuthService, routes as auth_routes};
use crate::embeddings::{EmbeddingsService, routes as embeddings_routes};
use crate::responses::{ResponseService, routes as responses_routes};
use crate::sentiment::{SentimentService, routes as sentiment_routes};

/// `{"text"}` → the `POST /v1/sentiment` answer.
pub const SENTIMENT: &str = "bulwark.v1.sentiment";
/// `{"message","customer_id"?,"context"?}` → the `POST /v1/responses` answer (always whole).
pub const RESPONSES: &str = "bulwark.v1.responses";
/// `{"input": [...]}` → the `POST /v1/embeddings` answer.
pub const EMBEDDINGS: &str = "bulwark.v1.embeddings";
/// `{"token"}` → the `GET /v1/auth/me` answer for that bearer token.
pub const AUTH_VALIDATE: &str = "bulwark.v1.auth.validate";

/// The pipelines the subjects are answered by.
#[derive(Debug, Clone)]
pub struct Pipelines {
    /// Sentiment.
    pub sentiment: SentimentService,
    /// Embeddings.
    pub embeddings: EmbeddingsService,
    /// Auth.
    pub auth: AuthService,
    /// Response generation.
    pub responses: ResponseService,
}

/// Every request subject and what answers it.
pub fn table(p: &Pipelines) -> Vec<Route> {
    use Priority::{Critical, NonCritical};
    vec![
        Route::new(
            SENTIMENT,
            NonCritical,
            p.sentiment.clone(),
            sentiment_routes::answer,
        ),
        Route::new(
            EMBEDDINGS,
            NonCritical,
            p.embeddings.clone(),
            embeddings_routes::answer,
        ),
        Route::new(
            AUTH_VALIDATE,
            Critical,
            p.auth.clone(),
            auth_routes::validate,
        ),
        Route::new(
            RESPONSES,
            NonCritical,
            p.responses.clone(),
            responses_routes::answer,
        ),
    ]
}

/// One request, as a handler receives it.
#[derive(Debug)]
pub struct Request {
    /// Its headers, read.
    pub envelope: Envelope,
    /// Its payload.
    pub payload: Bytes,
    /// This node's name, for the reply's headers.
    pub node: Arc<str>,
}

/// Answers a request: always a reply, an answer or a standard error.
pub type Handler = Arc<dyn Fn(Request) -> BoxFuture<'static, Outgoing> + Send + Sync>;

/// A subject, its bulkhead priority and its handler.
#[derive(Clone)]
pub struct Route {
    /// The subject.
    pub subject: &'static str,
    /// The priority of the calls it makes (token validation is critical, as over HTTP).
    pub priority: Priority,
    /// What answers it.
    pub handler: Handler,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("subject", &self.subject)
            .field("priority", &self.priority)
            .finish_non_exhaustive()
    }
}

impl Route {
    /// `subject` answered by `answer(service, ctx, request)`: the payload decoded as `Req` with
    /// the request's codec (a malformed one is a 400), the answer encoded with it.
    pub fn new<S, Req, Resp, F, Fut>(
        subject: &'static str,
        priority: Priority,
        service: S,
        answer: F,
    ) -> Self
    where
        S: Clone + Send + Sync + 'static,
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize + 'static,
        F: Fn(S, CallContext, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
    {
        let answer = Arc::new(answer);
        let handler: Handler = Arc::new(move |request: Request| {
            let (service, answer) = (service.clone(), Arc::clone(&answer));
            Box::pin(async move {
                let Request {
                    envelope,
                    payload,
                    node,
                } = request;
                let result = match envelope.decode::<Req>(&payload) {
                    Ok(decoded) => answer(service, envelope.context(priority), decoded).await,
                    Err(refused) => Err(refused),
                };
                match result {
                    Ok(answer) => Outgoing::answer(&envelope, &node, &answer),
                    Err(error) => Outgoing::error(&error, &envelope.correlation_id, &node),
                }
            })
        });
        Self {
            subject,
            priority,
            handler,
        }
    }
}
