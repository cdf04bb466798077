//! The dashboard in a real browser: a server on a loopback port serves the product's routes
//! (the dashboard and its `/status`) over a real [`Runtime`] with two guards — `inventory-db` healthy, `llm-provider`
//! tripped open by failing calls — and headless Chromium loads the page, lets it poll, and dumps
//! the DOM it rendered; a second run saves a screenshot to `target/dashboard.png`.
//!
//! Needs `chromium` (or `chromium-browser`) on PATH: `bash scripts/test.sh` installs Debian's
//! package. Without it the test fails, unless `BULWARK_SKIP_BROWSER=1` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bulwark_runtime::breaker::State;
use bulwark_runtime::dependency::{CallContext, DependencyError};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::runtime::Runtime;
use bulwark_services::gateway::app::routes;
use bulwark_services::gateway::server::Server;
use bulwark_services::gateway::{AppState, GatewayConfig, build};
use tokio::process::Command;

/// Longest one browser run may take (a cold start on a busy two-core machine included).
const BROWSER_BOUND: Duration = Duration::from_secs(60);

/// Page time the browser grants the page: enough for several polls of `/status` (one a second).
const VIRTUAL_TIME_MS: u32 = 5000;

/// A runtime with two guards: `inventory-db` closed with a 10 % failure rate, `llm-provider`
/// opened by its breaker after 20 failures out of 20 calls.
async fn runtime() -> Runtime {
    let runtime = Runtime::builder()
        .guard("inventory-db", Policy::default())
        .guard("llm-provider", Policy::default())
        .build()
        .await
        .unwrap();
    let failure = || DependencyError::permanent(io::Error::other("upstream answered 418"));

    let db = runtime.guard("inventory-db").unwrap();
    for i in 0..20 {
        let _ = db
            .run(CallContext::untracked(), |_| async move {
                if i % 10 == 9 { Err(failure()) } else { Ok(()) }
            })
            .await;
    }
    let llm = runtime.guard("llm-provider").unwrap();
    for _ in 0..20 {
        let _ = llm
            .run(CallContext::untracked(), |_| async {
                Err::<(), _>(failure())
            })
            .await;
    }
    assert_eq!(db.flush().await.unwrap(), State::Closed);
    assert_eq!(llm.flush().await.unwrap(), State::Open);
    runtime
}

/// The product's application over `runtime`.
fn app(runtime: Runtime) -> axum::Router {
    let state = AppState::new(GatewayConfig::default(), runtime);
    build(routes(), state)
}

/// `chromium` or `chromium-browser` on PATH.
fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on `url` with `extra` arguments and returns its standard output.
async fn chromium(binary: &Path, profile: &Path, url: &str, extra: &[String]) -> String {
    let mut command = Command::new(binary);
    command
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--mute-audio",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--virtual-time-budget={VIRTUAL_TIME_MS}"))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(BROWSER_BOUND, command.output())
        .await
        .unwrap_or_else(|_| panic!("chromium did not finish within {BROWSER_BOUND:?}"))
        .expect("chromium could not be started");
    assert!(
        output.status.success(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

/// The opening tag of the element whose attributes contain `marker`.
fn tag_with<'a>(dom: &'a str, marker: &str) -> &'a str {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("no element with {marker} in the DOM:\n{dom}"));
    let start = dom[..at].rfind('<').unwrap();
    let end = at + dom[at..].find('>').unwrap();
    &dom[start..=end]
}

/// The target directory (`CARGO_TARGET_TMPDIR` is `<target>/tmp`).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_both_dependencies_with_their_states_in_a_browser() {
    let Some(binary) = find_chromium() else {
        if std::env::var_os("BULWARK_SKIP_BROWSER").is_some_and(|v| v == "1") {
            eprintln!("skipped: no chromium on PATH and BULWARK_SKIP_BROWSER=1");
            return;
        }
        panic!(
            "the dashboard test needs a browser, and neither `chromium` nor `chromium-browser` is \
             on PATH: run `bash scripts/test.sh` (it installs Debian's chromium package), or set \
             BULWARK_SKIP_BROWSER=1 to skip this test"
        );
    };

    let runtime = runtime().await;
    let server = support::serve_app(
        Server::new(&GatewayConfig::default()).unwrap(),
        app(runtime.clone()),
    )
    .await;
    let url = format!("http://{}/", server.addr);
    let profile = tempfile::tempdir().unwrap();

    let dom = chromium(&binary, profile.path(), &url, &["--dump-dom".to_owned()]).await;

    let db = tag_with(&dom, r#"data-dependency="inventory-db""#);
    assert!(db.contains(r#"data-state="closed""#), "{db}");
    let llm = tag_with(&dom, r#"data-dependency="llm-provider""#);
    assert!(llm.contains(r#"data-state="open""#), "{llm}");
    assert_eq!(dom.matches("data-dependency=").count(), 2, "{dom}");
    // The state is also written out, the trip's reason is shown, the poll succeeded, the field
    // check found nothing missing, and the supervision tree lists both guards' actors.
    assert!(dom.contains(">Open</span>") && dom.contains(">Closed</span>"));
    assert!(
        dom.contains("failure rate 100.0% reached the 50% threshold over 20 calls"),
        "{dom}"
    );
    let connection = tag_with(&dom, r#"id="connection""#);
    assert!(
        connection.contains(r#"data-connection="live""#),
        "{connection}"
    );
    let banner = tag_with(&dom, r#"id="banner""#);
    assert!(
        banner.contains("hidden"),
        "the page reports missing fields: {dom}"
    );
    assert!(dom.contains(r#"data-child="dependencies""#), "{dom}");
    assert!(dom.contains(r#"data-child="inventory-db""#), "{dom}");
    assert!(dom.contains(r#"data-child="llm-provider""#), "{dom}");

    let screenshot = target_dir().join("dashboard.png");
    let _ = std::fs::remove_file(&screenshot);
    chromium(
        &binary,
        profile.path(),
        &url,
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,900".to_owned(),
        ],
    )
    .await;
    let png = std::fs::read(&screenshot).expect("chromium saved the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    eprintln!("screenshot: {}", screenshot.display());

    server.stop().await;
    runtime.shutdown().await;
}
