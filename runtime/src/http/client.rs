//! [`HttpDependency`]: a JSON-over-HTTP dependency built on reqwest and rustls.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::correlation::CORRELATION_HEADER;
use crate::dependency::{CallContext, Dependency, DependencyError, Probe};
use crate::timeout::TimeoutPolicy;

use super::body::read_limited;
use super::classify::{classify, retry_after, send_error};
use super::error::{HttpError, InvalidHttpConfig};
use super::request::HttpRequest;
use super::trace::{TRACEPARENT, traceparent};

/// Default limit of a response body: 4 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// What the client is built from (kept to rebuild it after an actor restart).
#[derive(Debug, Clone)]
struct ClientSettings {
    connect: Duration,
    read: Duration,
    headers: HeaderMap,
}

impl ClientSettings {
    fn build(&self) -> Result<reqwest::Client, InvalidHttpConfig> {
        let tls = super::tls::client_config().map_err(InvalidHttpConfig::Tls)?;
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(self.connect)
            .read_timeout(self.read)
            .default_headers(self.headers.clone())
            .user_agent(concat!("bulwark/", env!("CARGO_PKG_VERSION")))
            // An API that redirects is misconfigured: the 3xx is a permanent failure, and no
            // credential is ever forwarded to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(InvalidHttpConfig::Client)
    }
}

/// A dependency that sends JSON requests to one base URL and decodes JSON answers of type `R`.
///
/// - Timeouts: connect and read from the policy's [`TimeoutPolicy`] (`timeout.connect`,
///   `timeout.read`); the guard bounds each attempt by `timeout.attempt` and the call's deadline.
/// - Every attempt carries `X-Correlation-ID` and a W3C `traceparent` (see [`super::trace`]).
/// - Failures are classified as [`super::classify`] describes; `Retry-After` (seconds or
///   HTTP-date) reaches the retry policy.
/// - A response body is read up to [`max_response_bytes`](HttpDependencyBuilder::max_response_bytes)
///   (default 4 MiB) and must decode as `R`, else the attempt fails with a typed, permanent
///   [`HttpError`].
/// - After a crash of its actor the client is rebuilt ([`Dependency::reset`]), dropping pooled
///   connections that may be broken.
pub struct HttpDependency<B, R> {
    base: Arc<str>,
    max_response_bytes: usize,
    probe_path: Option<Arc<str>>,
    settings: ClientSettings,
    client: ArcSwap<reqwest::Client>,
    _types: PhantomData<fn(B) -> R>,
}

impl<B, R> std::fmt::Debug for HttpDependency<B, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpDependency")
            .field("base", &self.base)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("connect", &self.settings.connect)
            .field("read", &self.settings.read)
            .finish_non_exhaustive()
    }
}

/// Builds an [`HttpDependency`].
#[derive(Debug, Clone)]
#[must_use]
pub struct HttpDependencyBuilder<B, R> {
    base: String,
    timeouts: TimeoutPolicy,
    max_response_bytes: usize,
    headers: Vec<(String, String, bool)>,
    probe_path: Option<String>,
    _types: PhantomData<fn(B) -> R>,
}

impl<B, R> HttpDependencyBuilder<B, R> {
    /// Connect and read timeouts from `timeouts.connect` and `timeouts.read` (default: the seed
    /// policy's 2 s and 5 s).
    pub fn timeouts(mut self, timeouts: &TimeoutPolicy) -> Self {
        self.timeouts = *timeouts;
        self
    }

    /// The largest response body accepted, in bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// A header sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into(), false));
        self
    }

    /// A header sent with every request, marked sensitive (an API key: never shown in debug
    /// output).
    pub fn sensitive_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into(), true));
        self
    }

    /// `Authorization: Bearer <token>`, marked sensitive (never shown in debug output).
    pub fn bearer_auth(mut self, token: impl AsRef<str>) -> Self {
        self.headers.push((
            AUTHORIZATION.as_str().to_owned(),
            format!("Bearer {}", token.as_ref()),
            true,
        ));
        self
    }

    /// A health check: `GET path` answered with a success status means healthy. Without one,
    /// the dependency has no probe.
    pub fn probe_path(mut self, path: impl Into<String>) -> Self {
        self.probe_path = Some(path.into());
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<HttpDependency<B, R>, InvalidHttpConfig> {
        let url = reqwest::Url::parse(&self.base)
            .map_err(|_| InvalidHttpConfig::BaseUrl(self.base.clone()))?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(InvalidHttpConfig::BaseUrl(self.base));
        }
        if self.max_response_bytes == 0 {
            return Err(InvalidHttpConfig::ResponseLimit);
        }
        let mut headers = HeaderMap::new();
        for (name, value, sensitive) in &self.headers {
            let invalid = || InvalidHttpConfig::Header(name.clone());
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let mut value = HeaderValue::from_str(value).map_err(|_| invalid())?;
            value.set_sensitive(*sensitive);
            headers.append(name, value);
        }
        let settings = ClientSettings {
            connect: self.timeouts.connect,
            read: self.timeouts.read,
            headers,
        };
        let client = settings.build()?;
        Ok(HttpDependency {
            base: Arc::from(self.base.trim_end_matches('/')),
            max_response_bytes: self.max_response_bytes,
            probe_path: self.probe_path.map(Arc::from),
            settings,
            client: ArcSwap::from_pointee(client),
            _types: PhantomData,
        })
    }
}

impl<B, R> HttpDependency<B, R> {
    /// A builder for `base_url` (`http://host:port/prefix`; request paths are appended to it).
    pub fn builder(base_url: impl Into<String>) -> HttpDependencyBuilder<B, R> {
        HttpDependencyBuilder {
            base: base_url.into(),
            timeouts: TimeoutPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            headers: Vec::new(),
            probe_path: None,
            _types: PhantomData,
        }
    }

    /// A dependency on `base_url` with the connect and read timeouts of `timeouts` and the other
    /// settings at their defaults.
    pub fn new(
        base_url: impl Into<String>,
        timeouts: &TimeoutPolicy,
    ) -> Result<Self, InvalidHttpConfig> {
        Self::builder(base_url).timeouts(timeouts).build()
    }

    /// The base URL requests are sent to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("{}{slash}{path}", self.base)
    }

    /// A request with the per-attempt headers (correlation ID, `traceparent`).
    fn request(&self, method: Method, path: &str, ctx: &CallContext) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .load()
            .request(method, self.url(path))
            .header(ACCEPT, "application/json");
        if let Ok(id) = HeaderValue::from_str(ctx.correlation_id().as_str()) {
            request = request.header(CORRELATION_HEADER, id);
        }
        if let Some(value) = traceparent(ctx) {
            request = request.header(TRACEPARENT, value);
        }
        request
    }
}

impl<B: Serialize, R: DeserializeOwned> HttpDependency<B, R> {
    /// One attempt, unclassified.
    pub async fn send(&self, req: &HttpRequest<B>, ctx: &CallContext) -> Result<R, HttpError> {
        let mut request = self.request(req.method().clone(), req.path(), ctx);
        if let Some(body) = req.body() {
            let bytes = serde_json::to_vec(body).map_err(HttpError::Encode)?;
            request = request.header(CONTENT_TYPE, "application/json").body(bytes);
        }
        let mut response = request.send().await.map_err(send_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(HttpError::Status {
                status,
                retry_after: retry_after(response.headers(), SystemTime::now()),
            });
        }
        let content_type = response.headers().get(CONTENT_TYPE).cloned();
        let body = read_limited(&mut response, self.max_response_bytes).await?;
        serde_json::from_slice(&body).map_err(|source| HttpError::Decode {
            content_type: content_type.and_then(|v| v.to_str().ok().map(str::to_owned)),
            source,
        })
    }
}

impl<B: Serialize, R> HttpDependency<B, R> {
    /// One exchange, for callers that read the answer themselves (an error body in the API's
    /// own shape, a stream of server-sent events): the request is sent with the same headers,
    /// timeouts and correlation as [`send`](Self::send), and the response is returned whatever
    /// its status. Read its body with [`read_body`](Self::read_body) (under the size limit) or
    /// [`read_chunk`](Self::read_chunk).
    pub async fn exchange(
        &self,
        req: &HttpRequest<B>,
        ctx: &CallContext,
    ) -> Result<reqwest::Response, HttpError> {
        let mut request = self.request(req.method().clone(), req.path(), ctx);
        if let Some(body) = req.body() {
            let bytes = serde_json::to_vec(body).map_err(HttpError::Encode)?;
            request = request.header(CONTENT_TYPE, "application/json").body(bytes);
        }
        request.send().await.map_err(send_error)
    }

    /// The whole body of `response`, at most the configured `max_response_bytes`.
    pub async fn read_body(&self, response: &mut reqwest::Response) -> Result<Vec<u8>, HttpError> {
        read_limited(response, self.max_response_bytes).await
    }

    /// Appends the next chunk of `response`'s body to `buffer`; `false` at the body's end. A
    /// broken connection or the read timeout is an [`HttpError`] like any other.
    pub async fn read_chunk(
        response: &mut reqwest::Response,
        buffer: &mut Vec<u8>,
    ) -> Result<bool, HttpError> {
        match response
            .chunk()
            .await
            .map_err(super::classify::body_error)?
        {
            Some(chunk) => {
                buffer.extend_from_slice(&chunk);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The largest response body accepted, in bytes.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }
}

impl<B, R> Dependency for HttpDependency<B, R>
where
    B: Serialize + Send + Sync + 'static,
    R: DeserializeOwned + Send + Sync + 'static,
{
    type Request = HttpRequest<B>;
    type Response = R;

    async fn call(&self, req: HttpRequest<B>, ctx: &CallContext) -> Result<R, DependencyError> {
        self.send(&req, ctx).await.map_err(classify)
    }

    async fn probe(&self, ctx: &CallContext) -> Probe {
        let Some(path) = &self.probe_path else {
            return Probe::Unsupported;
        };
        match self.request(Method::GET, path, ctx).send().await {
            Ok(response) if response.status().is_success() => Probe::Healthy,
            Ok(response) => Probe::Unhealthy(classify(HttpError::Status {
                status: response.status(),
                retry_after: retry_after(response.headers(), SystemTime::now()),
            })),
            Err(err) => Probe::Unhealthy(classify(send_error(err))),
        }
    }

    async fn reset(&self) {
        match self.settings.build() {
            Ok(client) => self.client.store(Arc::new(client)),
            Err(err) => tracing::warn!(
                base = %self.base,
                error = %crate::error::chain(&err),
                "could not rebuild the HTTP client; keeping the old one"
            ),
        }
    }
}
