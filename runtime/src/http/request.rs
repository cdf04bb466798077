//! [`HttpRequest`]: what one call to an [`HttpDependency`](super::HttpDependency) sends.

use std::sync::Arc;

use http::Method;

/// A JSON request relative to the dependency's base URL: a method, a path and an optional body.
///
/// Cheap to clone (the body is shared), as the guard clones the request for each attempt that
/// may be retried and a pool sends it to several endpoints. The body stays typed, so fallback
/// stages can compute a degraded answer from it.
#[derive(Debug)]
pub struct HttpRequest<B> {
    method: Method,
    path: Arc<str>,
    body: Option<Arc<B>>,
}

impl<B> Clone for HttpRequest<B> {
    fn clone(&self) -> Self {
        Self {
            method: self.method.clone(),
            path: Arc::clone(&self.path),
            body: self.body.clone(),
        }
    }
}

impl<B> HttpRequest<B> {
    /// `POST path` with `body` as JSON. `path` is appended to the base URL (a leading `/` is
    /// added when missing); it may carry a query string.
    pub fn post(path: impl Into<Arc<str>>, body: B) -> Self {
        Self::new(Method::POST, path, Some(body))
    }

    /// `GET path`, without a body.
    pub fn get(path: impl Into<Arc<str>>) -> Self {
        Self::new(Method::GET, path, None)
    }

    /// Any method, with or without a JSON body.
    pub fn new(method: Method, path: impl Into<Arc<str>>, body: Option<B>) -> Self {
        Self {
            method,
            path: path.into(),
            body: body.map(Arc::new),
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path, relative to the base URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&B> {
        self.body.as_deref()
    }
}
