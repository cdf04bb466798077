//! Shared helpers of the auth tests: services on SQLite, throwaway PostgreSQL clusters, forged
//! tokens.
#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bulwark_runtime::breaker::{BreakerConfig, WindowKind};
use bulwark_runtime::chaos::{Chaos, FaultControl};
use bulwark_runtime::policy::{Policy, ProbePolicy};
use bulwark_runtime::runtime::Runtime;
use bulwark_services::auth::store::{
    OpenMode, PoolSettings, StoreDependency, StoreRole, UserStores, default_store_policy, open,
};
use bulwark_services::auth::{AuthConfig, AuthService};
use tempfile::TempDir;

/// Cheap argon2 parameters so functional tests do not spend seconds hashing.
pub fn fast_config() -> AuthConfig {
    let mut config = AuthConfig::default();
    config.hasher.memory_kib = 64;
    config.hasher.iterations = 1;
    config.hasher.threads = 1;
    config
}

/// A store policy that trips and recovers quickly: tests wait on transitions, not on seconds.
pub fn quick_store_policy() -> Policy {
    let mut policy = default_store_policy();
    policy.breaker = BreakerConfig::builder()
        .window(WindowKind::Count { size: 10 })
        .minimum_calls(2)
        .reset_timeout(Duration::from_millis(200))
        .half_open_permits(1)
        .build()
        .unwrap();
    policy.probe = ProbePolicy {
        enabled: true,
        interval: Duration::from_millis(50),
    };
    policy
}

/// A runtime, an auth service on a SQLite file in a fresh data dir, and the dir.
pub struct SqliteAuth {
    pub runtime: Runtime,
    pub auth: AuthService,
    pub dir: TempDir,
}

pub async fn sqlite_auth(config: AuthConfig) -> SqliteAuth {
    let dir = tempfile::tempdir().unwrap();
    let (runtime, auth) = start_auth(config, dir.path()).await;
    SqliteAuth { runtime, auth, dir }
}

/// A runtime and an auth service with the configured stores and the quick store policy.
pub async fn start_auth(config: AuthConfig, data_dir: &Path) -> (Runtime, AuthService) {
    let runtime = Runtime::builder().build().await.unwrap();
    let auth = AuthService::builder(config)
        .data_dir(data_dir)
        .store_policy(quick_store_policy())
        .start(&runtime)
        .await
        .unwrap();
    (runtime, auth)
}

/// An auth service whose SQLite primary is wrapped in chaos: the returned control breaks it.
pub async fn chaos_sqlite_auth(config: AuthConfig) -> (SqliteAuth, FaultControl) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::builder().build().await.unwrap();
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    let pool = PoolSettings {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(2),
    };
    let store = open(&url, OpenMode::Primary, pool).await.unwrap();
    let chaos = Chaos::new(StoreDependency::new(store));
    let control = chaos.control();
    let handle = runtime
        .add(
            StoreRole::Primary.dependency_name(),
            chaos,
            quick_store_policy(),
        )
        .await
        .unwrap();
    let auth = AuthService::builder(config)
        .data_dir(dir.path())
        .stores(UserStores::new(Box::new(handle), Vec::new()))
        .start(&runtime)
        .await
        .unwrap();
    (SqliteAuth { runtime, auth, dir }, control)
}

/// A compact JWS from raw parts (header and claims as JSON, signature bytes).
pub fn forge(header: &serde_json::Value, claims: &serde_json::Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// The signing input of a compact JWS (`header.payload`).
pub fn signing_input(token: &str) -> &str {
    &token[..token.rfind('.').unwrap()]
}

/// The claims of a token, decoded without any check.
pub fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The header of a token, decoded without any check.
pub fn header_of(token: &str) -> serde_json::Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// The directory of PostgreSQL's server binaries (Debian: /usr/lib/postgresql/<major>/bin).
fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("BULWARK_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found under /usr/lib/postgresql: \
             install Debian's `postgresql` (scripts/test.sh does) or set BULWARK_PG_BIN"
        )
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A throwaway PostgreSQL cluster in a temp dir on a free loopback port, run as the `postgres`
/// user when the tests run as root (initdb and postgres refuse root). Stopped when dropped.
pub struct PgCluster {
    _dir: TempDir,
    root: PathBuf,
    data: PathBuf,
    port: u16,
    bin: PathBuf,
    as_postgres: bool,
}

impl PgCluster {
    fn new_dir() -> (TempDir, PathBuf, bool) {
        let dir = tempfile::Builder::new()
            .prefix("bulwark-pg-")
            .tempdir()
            .unwrap();
        let as_postgres = running_as_root();
        if as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path()));
        }
        let root = dir.path().to_owned();
        (dir, root, as_postgres)
    }

    fn command(&self, tool: &str) -> Command {
        command(&self.bin, tool, self.as_postgres)
    }

    /// `initdb` + start.
    pub fn primary() -> Self {
        let (dir, root, as_postgres) = Self::new_dir();
        let bin = pg_bin();
        let data = root.join("data");
        run(command(&bin, "initdb", as_postgres)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data));
        Self::started(dir, root, data, bin, as_postgres)
    }

    fn started(
        dir: TempDir,
        root: PathBuf,
        data: PathBuf,
        bin: PathBuf,
        as_postgres: bool,
    ) -> Self {
        let cluster = Self {
            _dir: dir,
            root,
            data,
            port: free_port(),
            bin,
            as_postgres,
        };
        cluster.start();
        cluster
    }

    /// A streaming standby of `primary` (`pg_basebackup -R`), started.
    pub fn replica_of(primary: &PgCluster) -> Self {
        let (dir, root, as_postgres) = Self::new_dir();
        let data = root.join("data");
        run(primary
            .command("pg_basebackup")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-R", "-X", "stream"])
            .arg("-p")
            .arg(primary.port.to_string())
            .arg("-D")
            .arg(&data));
        Self::started(dir, root, data, primary.bin.clone(), as_postgres)
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    pub fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.root.display()
        );
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.root.join("log"))
            .args(["-w", "-o", &options, "start"]));
    }

    /// `pg_ctl stop -m fast`, waiting until it is down.
    pub fn stop(&self) {
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"]));
    }

    /// Runs SQL with psql as `postgres`.
    pub fn psql(&self, sql: &str) -> String {
        let out = run(self
            .command("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
                sql,
            ])
            .arg("-p")
            .arg(self.port.to_string()));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Makes commits wait until every standby has applied them (read-your-writes on replicas).
    pub fn synchronous_apply(&self, on: bool) {
        let names = if on { "*" } else { "" };
        self.psql(&format!(
            "ALTER SYSTEM SET synchronous_standby_names = '{names}'"
        ));
        self.psql("ALTER SYSTEM SET synchronous_commit = 'remote_apply'");
        self.psql("SELECT pg_reload_conf()");
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn command(bin: &Path, tool: &str, as_postgres: bool) -> Command {
    let program = bin.join(tool);
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
