//! The sample Kubernetes manifest's configuration is one the binary accepts.
//!
//! `deploy/k8s/bulwark.yaml` carries a `bulwark.toml` in its ConfigMap. The config loader refuses
//! unknown keys, so a renamed or misspelt key there would only show as a crash-looping pod; here it
//! is loaded with the binary's own loader. The rest of the deploy kit (alert rules, dashboard,
//! manifest structure) is checked by `promtool` and `scripts/check_deploy.py` from
//! `scripts/test.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;

use bulwark_services::config::Config;

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

/// The text of the literal block scalar `key: |` in a YAML document, dedented: the lines after
/// the key that are blank or indented deeper than it.
fn literal_block(yaml: &str, key: &str) -> Option<String> {
    let mut lines = yaml.lines();
    let header = lines.find(|line| line.trim() == format!("{key}: |"))?;
    let key_indent = header.len() - header.trim_start().len();
    let body: Vec<&str> = lines
        .take_while(|line| {
            line.trim().is_empty() || line.len() - line.trim_start().len() > key_indent
        })
        .collect();
    let indent = body
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()?;
    Some(
        body.iter()
            .map(|line| line.get(indent..).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// The first `containerPort:` of the manifest.
fn container_port(yaml: &str) -> u16 {
    yaml.lines()
        .find_map(|line| line.trim().strip_prefix("containerPort:"))
        .expect("the manifest declares a containerPort")
        .trim()
        .parse()
        .expect("containerPort is a number")
}

#[test]
fn the_configmap_config_loads_and_listens_where_the_probes_look() {
    let manifest = repo_file("deploy/k8s/bulwark.yaml");
    let toml = literal_block(&manifest, "bulwark.toml").expect("the ConfigMap has bulwark.toml");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulwark.toml");
    std::fs::write(&path, &toml).unwrap();

    let config = Config::load(Some(&path)).unwrap_or_else(|e| {
        let mut cause: Option<&dyn std::error::Error> = Some(&e);
        let mut chain = Vec::new();
        while let Some(c) = cause {
            chain.push(c.to_string());
            cause = c.source();
        }
        panic!(
            "the ConfigMap's bulwark.toml is refused: {}",
            chain.join(": ")
        )
    });

    let port = container_port(&manifest);
    assert_eq!(
        config.server.addr,
        SocketAddr::from(([0, 0, 0, 0], port)),
        "the pod must listen on all interfaces at the containerPort the probes and Service use"
    );
    assert!(
        config.server.tls.is_none(),
        "the manifest's probes use plain HTTP"
    );
}

#[test]
fn literal_blocks_are_read_to_their_end() {
    let yaml = "data:\n  a.toml: |\n    x = 1\n\n    [s]\n    y = 2\nkind: ConfigMap\n";
    assert_eq!(
        literal_block(yaml, "a.toml").unwrap(),
        "x = 1\n\n[s]\ny = 2"
    );
    assert!(literal_block(yaml, "b.toml").is_none());
}
