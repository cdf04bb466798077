//! The live dashboard: `GET /` serves one page that polls `GET /status` every second and draws each
//! dependency as a card coloured by its circuit state (with the state also written out), its
//! bulkhead gauges, an error-rate sparkline, its recent transitions, and the supervision tree.
//!
//! The page is three files compiled into the binary with `include_str!` — no CDN, no build step,
//! it works offline and on an air-gapped host:
//!
//! | route | file | type |
//! | --- | --- | --- |
//! | `GET /` | `index.html` | `text/html; charset=utf-8` |
//! | `GET /dashboard.js` | `dashboard.js` (vanilla JS, no framework) | `text/javascript; charset=utf-8` |
//! | `GET /dashboard.css` | `dashboard.css` | `text/css; charset=utf-8` |
//!
//! Script and style are separate files so the [`CONTENT_SECURITY_POLICY`] can forbid every inline
//! script and style: the page loads and talks to its own origin only. Every answer carries
//! `Cache-Control: no-cache`, so a browser revalidates after an upgrade instead of running an old
//! script against a new `/status`.
//!
//! The script lists the `/status` fields it reads in `STATUS_FIELDS`; it checks them on every poll
//! (a banner names any that are missing) and this module's tests check them against a real
//! [`RuntimeSnapshot`](bulwark_runtime::runtime::RuntimeSnapshot), so the page and the JSON cannot
//! drift apart silently.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The page's markup.
pub const INDEX_HTML: &str = include_str!("index.html");
/// The page's script.
pub const DASHBOARD_JS: &str = include_str!("dashboard.js");
/// The page's style sheet.
pub const DASHBOARD_CSS: &str = include_str!("dashboard.css");

/// The policy sent with every dashboard file: only same-origin scripts, styles and fetches, no
/// inline code, no plugins, no framing, no forms.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The dashboard routes: `GET /`, `GET /dashboard.js`, `GET /dashboard.css` (`HEAD` too). They
/// need no state, so they merge into any router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/dashboard.js", get(script))
        .route("/dashboard.css", get(style))
}

/// `GET /`.
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /dashboard.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", DASHBOARD_JS)
}

/// `GET /dashboard.css`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", DASHBOARD_CSS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let headers: [(HeaderName, HeaderValue); 6] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ];
    (headers, body).into_response()
}

#[cfg(test)]
mod tests;
