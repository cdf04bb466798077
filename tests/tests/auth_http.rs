//! The auth pipeline as a client sees it: the product service (`Service::start`, the same thing
//! `bulwark serve` runs) on a SQLite file in a fresh data dir, served over a real loopback socket,
//! driven with reqwest. Register, login and `me`; each bad input; the token route's limits; the
//! store's circuit opened by an operator (degraded mode) and reset (recovery without restart); no
//! secret in `/status`, `/metrics` or any error body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bulwark_runtime::breaker::State;
use bulwark_runtime::dependency::BreakerCommand;
use bulwark_services::config::Config;
use bulwark_services::gateway::server::Server;
use bulwark_services::service::Service;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

struct Running {
    service: Service,
    server: support::Running,
    base: String,
    client: Client,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start() -> Self {
        bulwark_runtime::http::install_default_tls();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        // Cheap hashes: these tests are about the HTTP contract, not argon2's cost.
        config.auth.hasher.memory_kib = 64;
        config.auth.hasher.iterations = 1;
        config.auth.hasher.threads = 1;
        let service = Service::start(&config).await.unwrap();
        let server = Server::new(&config.server).unwrap();
        let server = support::serve_app(server, service.router.clone()).await;
        let base = format!("http://{}", server.addr);
        Self {
            service,
            server,
            base,
            client: Client::new(),
            _dir: dir,
        }
    }

    async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn me(&self, token: &str) -> Response {
        self.client
            .get(format!("{}/v1/auth/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn get_text(&self, path: &str) -> String {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn token(&self, username: &str, password: &str) -> Response {
        self.post(
            "/v1/auth/token",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    async fn stop(self) {
        self.server.stop().await;
        self.service.shutdown().await;
    }
}

/// The body of a non-2xx answer, checked to be the standard error with the response's
/// correlation ID and `code`.
async fn standard_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let id = response.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], code, "{body}");
    assert_eq!(body["status_code"], status.as_u16(), "{body}");
    assert_eq!(body["correlation_id"], id, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_login_and_me_over_http() {
    support::bounded(async {
        let app = Running::start().await;

        let created = app
            .post(
                "/v1/auth/register",
                &json!({"username": "alice", "password": PASSWORD}),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: Value = created.json().await.unwrap();
        assert_eq!(created["username"], "alice");

        let token = app.token("alice", PASSWORD).await;
        assert_eq!(token.status(), StatusCode::OK);
        assert_eq!(token.headers()["cache-control"], "no-store");
        let token: Value = token.json().await.unwrap();
        assert_eq!(token["token_type"], "Bearer");
        assert!(token["expires_in"].as_u64().unwrap() > 0);
        let access = token["access_token"].as_str().unwrap().to_owned();

        let me = app.me(&access).await;
        assert_eq!(me.status(), StatusCode::OK);
        let me: Value = me.json().await.unwrap();
        assert_eq!(me["username"], "alice");
        assert_eq!(me["degraded"], false);
        assert!(me["scope"].as_str().unwrap().contains("write"), "{me}");

        // The token and the password appear in no observability answer.
        for path in ["/status", "/metrics", "/readyz"] {
            let text = app.get_text(path).await;
            assert!(!text.contains(&access), "{path} shows the token");
            assert!(!text.contains(PASSWORD), "{path} shows the password");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_bad_credentials_are_standard_errors() {
    support::bounded(async {
        let app = Running::start().await;
        let ok = app
            .post(
                "/v1/auth/register",
                &json!({"username": "bob", "password": PASSWORD}),
            )
            .await;
        assert_eq!(ok.status(), StatusCode::CREATED);

        // Field rules: each answers 400 with the field named.
        for (body, field) in [
            (json!({"username": "x", "password": PASSWORD}), "username"),
            (
                json!({"username": "no spaces allowed", "password": PASSWORD}),
                "username",
            ),
            (
                json!({"username": "carol", "password": "short"}),
                "password",
            ),
        ] {
            let answer = app.post("/v1/auth/register", &body).await;
            let error = standard_error(answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
            assert!(error.to_string().contains(field), "{field}: {error}");
            assert!(!error.to_string().contains(PASSWORD), "{error}");
        }
        // Not JSON, and JSON of the wrong shape.
        let not_json = app
            .client
            .post(format!("{}/v1/auth/register", app.base))
            .header("content-type", "application/json")
            .body("{\"username\":")
            .send()
            .await
            .unwrap();
        standard_error(not_json, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
        let wrong_shape = app.post("/v1/auth/token", &json!({"user": "bob"})).await;
        standard_error(wrong_shape, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;

        // A taken username.
        let taken = app
            .post(
                "/v1/auth/register",
                &json!({"username": "bob", "password": PASSWORD}),
            )
            .await;
        standard_error(taken, StatusCode::CONFLICT, "RESOURCE_ERROR").await;

        // A wrong password and an unknown user: the same 401, the same message.
        let wrong = app.token("bob", "not the right password").await;
        assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
        let wrong = standard_error(wrong, StatusCode::UNAUTHORIZED, "AUTH_ERROR").await;
        let unknown = app.token("nobody-here", "not the right password").await;
        let unknown = standard_error(unknown, StatusCode::UNAUTHORIZED, "AUTH_ERROR").await;
        assert_eq!(wrong["message"], unknown["message"]);

        // `me` without a token, with garbage, with a forged one.
        let missing = app
            .client
            .get(format!("{}/v1/auth/me", app.base))
            .send()
            .await
            .unwrap();
        standard_error(missing, StatusCode::UNAUTHORIZED, "AUTH_ERROR").await;
        for token in ["garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ."] {
            let answer = app.me(token).await;
            standard_error(answer, StatusCode::UNAUTHORIZED, "AUTH_ERROR").await;
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_route_limits_a_username_with_retry_after() {
    support::bounded(async {
        let app = Running::start().await;
        let mut limited = None;
        // The default per-username burst is 5: the limit answers well before 20 attempts.
        for _ in 0..20 {
            let answer = app.token("mallory", "guessing the password").await;
            if answer.status() == StatusCode::TOO_MANY_REQUESTS {
                limited = Some(answer);
                break;
            }
            standard_error(answer, StatusCode::UNAUTHORIZED, "AUTH_ERROR").await;
        }
        let limited = limited.expect("no 429 after 20 failed logins for one username");
        let retry_after: u64 = limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry_after >= 1);
        standard_error(limited, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_ERROR").await;

        // Another username is not slowed by mallory's failures.
        let other = app.token("someone-else", "guessing the password").await;
        assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_store_circuit_open_auth_degrades_then_recovers_without_restart() {
    support::bounded(async {
        let app = Running::start().await;
        let created = app
            .post(
                "/v1/auth/register",
                &json!({"username": "dave", "password": PASSWORD}),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let login = app.token("dave", PASSWORD).await;
        assert_eq!(login.status(), StatusCode::OK);
        let access: Value = login.json().await.unwrap();
        let access = access["access_token"].as_str().unwrap().to_owned();

        // An operator opens the user store's circuit.
        let store = app
            .service
            .runtime
            .controls("auth.store.primary")
            .expect("the SQLite store is registered as auth.store.primary");
        store.command(BreakerCommand::ForceOpen).await.unwrap();
        assert_eq!(store.state(), State::ForcedOpen);

        // Validation goes on with the read scope only, and says so.
        let me = app.me(&access).await;
        assert_eq!(me.status(), StatusCode::OK);
        let me: Value = me.json().await.unwrap();
        assert_eq!(me["degraded"], true, "{me}");
        assert_eq!(me["scope"], "read", "{me}");
        // A login from the cached credential works; registration is refused with Retry-After.
        let cached = app.token("dave", PASSWORD).await;
        assert_eq!(cached.status(), StatusCode::OK);
        let refused = app
            .post(
                "/v1/auth/register",
                &json!({"username": "erin", "password": PASSWORD}),
            )
            .await;
        assert!(refused.headers().contains_key("retry-after"));
        standard_error(refused, StatusCode::SERVICE_UNAVAILABLE, "DEPENDENCY_ERROR").await;
        // Ready, degraded: not down.
        let ready = app
            .client
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), StatusCode::OK);
        let ready: Value = ready.json().await.unwrap();
        assert_eq!(ready["status"], "degraded", "{ready}");

        // Reset: full service again, no restart.
        store.command(BreakerCommand::Reset).await.unwrap();
        let me: Value = app.me(&access).await.json().await.unwrap();
        assert_eq!(me["degraded"], false, "{me}");
        let registered = app
            .post(
                "/v1/auth/register",
                &json!({"username": "erin", "password": PASSWORD}),
            )
            .await;
        assert_eq!(registered.status(), StatusCode::CREATED);
        app.stop().await;
    })
    .await;
}
