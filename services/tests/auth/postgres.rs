//! The same pipeline on a real PostgreSQL: a primary and a streaming replica, each a throwaway
//! cluster on loopback. Reads go to the replica and move to the primary when the replica
//! stops; with the primary stopped, registration is refused and reads carry on from the
//! replica; with both stopped, degraded mode; recovery without restart.

use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::breaker::State;
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::ServiceError;
use bulwark_runtime::runtime::Runtime;
use bulwark_services::auth::store::ReadSource;
use bulwark_services::auth::{AuthError, AuthReadiness, AuthService, Credentials};

use crate::support::{PgCluster, fast_config, start_auth};

const PASSWORD: &str = "correct horse battery staple";

fn ctx() -> CallContext {
    CallContext::untracked()
}

async fn start(
    primary: &PgCluster,
    replica: Option<&PgCluster>,
) -> (Runtime, AuthService, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config();
    config.store.primary_url = Some(primary.url());
    config.store.replica_urls = replica.map(|r| vec![r.url()]).unwrap_or_default();
    config.store.acquire_timeout = Duration::from_millis(500);
    let (runtime, auth) = start_auth(config, dir.path()).await;
    (runtime, auth, dir)
}

async fn wait_closed(runtime: &Runtime, name: &str) {
    let controls = runtime.controls(name).unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        controls.wait_for_state(State::Closed),
    )
    .await
    .unwrap_or_else(|_| panic!("{name} did not close: {:?}", controls.state()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_login_me_on_postgres() {
    let primary = PgCluster::primary();
    let (runtime, auth, _dir) = start(&primary, None).await;
    assert_eq!(
        primary.psql("SELECT count(*) FROM _sqlx_migrations WHERE success"),
        "1",
        "migrations applied at start"
    );
    let user = auth
        .register(&ctx(), &Credentials::new("Alice", PASSWORD))
        .await
        .unwrap();
    assert_eq!(user.username, "alice");
    let dup = auth
        .register(&ctx(), &Credentials::new("alice", PASSWORD))
        .await
        .unwrap_err();
    assert!(matches!(dup, AuthError::UsernameTaken), "{dup:?}");
    let token = auth
        .login(&ctx(), &Credentials::new("alice", PASSWORD), None)
        .await
        .unwrap();
    let me = auth
        .authorize(
            Some(&format!("Bearer {}", token.access_token.expose())),
            "read",
        )
        .unwrap();
    assert_eq!((me.username.as_str(), me.degraded), ("alice", false));
    let wrong = auth
        .login(&ctx(), &Credentials::new("alice", "not the password"), None)
        .await
        .unwrap_err();
    assert!(matches!(wrong, AuthError::InvalidCredentials));
    // The stored hash is argon2id, never the password.
    let stored = primary.psql("SELECT password_hash FROM users WHERE username = 'alice'");
    assert!(
        stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "{stored}"
    );
    assert!(!stored.contains(PASSWORD));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_reads_fail_over_and_the_stores_recover() {
    let primary = PgCluster::primary();
    let replica = PgCluster::replica_of(&primary);
    let (runtime, auth, _dir) = start(&primary, Some(&replica)).await;
    primary.synchronous_apply(true); // a commit returns once the replica has applied it

    auth.register(&ctx(), &Credentials::new("alice", PASSWORD))
        .await
        .unwrap();
    let name: Arc<str> = Arc::from("alice");
    let (_, source) = auth.stores().find(&name, &ctx()).await.unwrap();
    assert_eq!(source, ReadSource::Replica(0), "reads go to the replica");
    let token = auth
        .login(&ctx(), &Credentials::new("alice", PASSWORD), None)
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token.access_token.expose());
    primary.synchronous_apply(false);

    // Replica stopped mid-run: reads move to the primary, nothing is degraded.
    replica.stop();
    let (user, source) = auth.stores().find(&name, &ctx()).await.unwrap();
    assert_eq!((user.is_some(), source), (true, ReadSource::Primary));
    let again = auth
        .login(&ctx(), &Credentials::new("alice", PASSWORD), None)
        .await
        .unwrap();
    assert!(!again.degraded);
    auth.check_store_health().await;
    // The primary covers reads and writes: ready, whatever the replica does.
    assert_eq!(auth.health().readiness, AuthReadiness::Ready);

    // Replica back, primary stopped: reads from the replica, registration refused.
    replica.start();
    wait_closed(&runtime, "auth.store.replica.0").await;
    primary.stop();
    auth.check_store_health().await;
    let health = auth.health();
    assert!(health.can_read && !health.can_write, "{health:?}");
    let (_, source) = auth.stores().find(&name, &ctx()).await.unwrap();
    assert_eq!(source, ReadSource::Replica(0));
    let me = auth.authorize(Some(&bearer), "write").unwrap();
    assert!(!me.degraded, "reads still possible: full scopes");
    let err = ServiceError::from(
        auth.register(&ctx(), &Credentials::new("bob", PASSWORD))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (err.status(), err.code().as_str()),
        (503, "DEPENDENCY_ERROR")
    );
    assert!(err.retry_after_secs().is_some());

    // Both stopped: degraded mode.
    replica.stop();
    auth.check_store_health().await;
    let me = auth.authorize(Some(&bearer), "read").unwrap();
    assert!(me.degraded);
    assert_eq!(me.scope.to_string(), "read");
    let cached = auth
        .login(&ctx(), &Credentials::new("alice", PASSWORD), None)
        .await
        .unwrap();
    assert!(cached.degraded, "login from the cached credential");

    // Both back: recovery without a restart.
    primary.start();
    replica.start();
    wait_closed(&runtime, "auth.store.primary").await;
    wait_closed(&runtime, "auth.store.replica.0").await;
    auth.check_store_health().await;
    assert_eq!(auth.health().readiness, AuthReadiness::Ready);
    auth.register(&ctx(), &Credentials::new("bob", PASSWORD))
        .await
        .unwrap();
    let me = auth.authorize(Some(&bearer), "write").unwrap();
    assert!(!me.degraded);
    runtime.shutdown().await;
}

/// The product service (`Service::start`, as `bulwark serve` runs it) with `[auth.store]` on a
/// real PostgreSQL, over a real loopback socket: register, a taken name, login, `me`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_login_me_over_http_on_postgres() {
    use bulwark_services::config::Config;
    use bulwark_services::gateway::server::Server;
    use bulwark_services::service::Service;
    use serde_json::{Value, json};

    bulwark_runtime::http::install_default_tls();
    let primary = PgCluster::primary();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    config.auth = fast_config();
    config.auth.store.primary_url = Some(primary.url());
    let service = Service::start(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(Server::new(&config.server).unwrap().serve(
        listener,
        service.router.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::new();
    let credentials = json!({"username": "Alice", "password": PASSWORD});

    let created = client
        .post(format!("{base}/v1/auth/register"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let taken = client
        .post(format!("{base}/v1/auth/register"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), 409);
    let taken: Value = taken.json().await.unwrap();
    assert_eq!(taken["error_code"], "RESOURCE_ERROR");
    let token: Value = client
        .post(format!("{base}/v1/auth/token"))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    let me: Value = client
        .get(format!("{base}/v1/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["degraded"], false);
    assert_eq!(
        primary.psql("SELECT count(*) FROM users"),
        "1",
        "the user is in PostgreSQL"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    service.shutdown().await;
}
