//! [`JsonEndpoint`]: an [`HttpDependency`] bound to one path, so that the endpoints of one pool
//! — which all receive the same request — may each be called at their own URL.

use std::sync::Arc;

use bulwark_runtime::dependency::{CallContext, Dependency, DependencyError, Probe};
use bulwark_runtime::http::classify::classify;
use bulwark_runtime::http::{HttpDependency, HttpRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `POST <base><path>` with a JSON body of type `B`, answered with JSON of type `R`.
///
/// Classification, timeouts, the response size limit, correlation and trace headers are the
/// [`HttpDependency`]'s; this type only fixes the path. `B` is cloned per attempt: keep it cheap
/// (share large payloads behind an `Arc`).
pub struct JsonEndpoint<B, R> {
    http: HttpDependency<B, R>,
    path: Arc<str>,
}

impl<B, R> std::fmt::Debug for JsonEndpoint<B, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonEndpoint")
            .field("base", &self.http.base_url())
            .field("path", &self.path)
            .finish()
    }
}

impl<B, R> JsonEndpoint<B, R> {
    /// Posts to `path` (with its query string, if any) under `http`'s base URL.
    pub fn new(http: HttpDependency<B, R>, path: impl Into<Arc<str>>) -> Self {
        Self {
            http,
            path: path.into(),
        }
    }

    /// The URL requests go to.
    pub fn url(&self) -> String {
        format!("{}{}", self.http.base_url(), self.path)
    }
}

impl<B, R> Dependency for JsonEndpoint<B, R>
where
    B: Serialize + Clone + Send + Sync + 'static,
    R: DeserializeOwned + Send + Sync + 'static,
{
    type Request = B;
    type Response = R;

    async fn call(&self, req: B, ctx: &CallContext) -> Result<R, DependencyError> {
        let request = HttpRequest::post(Arc::clone(&self.path), req);
        self.http.send(&request, ctx).await.map_err(classify)
    }

    async fn probe(&self, ctx: &CallContext) -> Probe {
        self.http.probe(ctx).await
    }

    async fn reset(&self) {
        self.http.reset().await;
    }
}
