use std::fs;

use tempfile::TempDir;

use super::*;

/// A fresh self-signed certificate for `localhost`: (certificate PEM, key PEM).
fn self_signed() -> (String, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (generated.cert.pem(), generated.signing_key.serialize_pem())
}

fn files(dir: &TempDir, cert: &str, key: &str) -> TlsConfig {
    let files = TlsConfig {
        cert_file: dir.path().join("cert.pem"),
        key_file: dir.path().join("key.pem"),
    };
    fs::write(&files.cert_file, cert).unwrap();
    fs::write(&files.key_file, key).unwrap();
    files
}

fn served_alpn(tls: &Tls) -> Vec<Vec<u8>> {
    tls.current.load().alpn_protocols.clone()
}

#[test]
fn a_certificate_and_its_key_load_with_alpn() {
    let dir = TempDir::new().unwrap();
    let (cert, key) = self_signed();
    let tls = Tls::load(&files(&dir, &cert, &key), true).unwrap();
    assert_eq!(
        served_alpn(&tls),
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    let http1 = Tls::load(tls.files(), false).unwrap();
    assert_eq!(served_alpn(&http1), vec![b"http/1.1".to_vec()]);
}

#[test]
fn unreadable_or_wrong_files_are_typed_errors_naming_the_file() {
    let dir = TempDir::new().unwrap();
    let (cert, key) = self_signed();
    let (_, other_key) = self_signed();

    let missing = TlsConfig {
        cert_file: dir.path().join("nope.pem"),
        key_file: dir.path().join("nope.key"),
    };
    let err = Tls::load(&missing, true).unwrap_err();
    assert!(matches!(err, TlsError::Read { ref path, .. } if path.ends_with("nope.pem")));

    let err = Tls::load(&files(&dir, "not a certificate", &key), true).unwrap_err();
    assert!(matches!(err, TlsError::Certificate { .. }), "{err:?}");

    let err = Tls::load(&files(&dir, &cert, &cert), true).unwrap_err();
    assert!(matches!(err, TlsError::Key { .. }), "{err:?}");

    let err = Tls::load(&files(&dir, &cert, &other_key), true).unwrap_err();
    assert!(matches!(err, TlsError::Rejected { .. }), "{err:?}");
}

#[test]
fn errors_never_show_key_material() {
    let dir = TempDir::new().unwrap();
    let (cert, key) = self_signed();
    let (_, other_key) = self_signed();
    let err = Tls::load(&files(&dir, &cert, &other_key), true).unwrap_err();
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    for line in key.lines().chain(other_key.lines()) {
        if !line.starts_with("-----") {
            assert!(!text.contains(line), "key material in {text}");
        }
    }
}

#[test]
fn a_reload_swaps_the_certificate_and_a_failed_one_keeps_it() {
    let dir = TempDir::new().unwrap();
    let (cert, key) = self_signed();
    let tls = Tls::load(&files(&dir, &cert, &key), true).unwrap();
    let mut reloads = tls.reloads();
    let first = tls.current.load_full();

    let (cert2, key2) = self_signed();
    files(&dir, &cert2, &key2);
    tls.reload().unwrap();
    assert!(reloads.has_changed().unwrap());
    assert_eq!(*reloads.borrow_and_update(), 1);
    let second = tls.current.load_full();
    assert!(!Arc::ptr_eq(&first, &second));

    // A rotation caught half way (new certificate, old key) is refused; the second stays.
    files(&dir, &cert, &key2);
    assert!(matches!(tls.reload(), Err(TlsError::Rejected { .. })));
    assert!(Arc::ptr_eq(&second, &tls.current.load_full()));
    assert!(!reloads.has_changed().unwrap());
}
