//! Token validation: every way a token can be wrong is refused, on first sight and from cache.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use bulwark_services::auth::Scopes;
use bulwark_services::auth::tokens::{
    Claims, KeyError, KeyRing, TokenError, TokenService, TokenSettings, WallClock,
};
use serde_json::json;

use crate::support::{claims_of, forge, header_of, signing_input};

const T0: u64 = 1_800_000_000;
const TTL: u64 = 900;
const LEEWAY: u64 = 30;

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "bulwark".into(),
        audience: "bulwark".into(),
        ttl: Duration::from_secs(TTL),
        leeway: Duration::from_secs(LEEWAY),
        cache_capacity: 1000,
    }
}

fn service(dir: &std::path::Path, clock: &WallClock) -> TokenService {
    let keys = KeyRing::open(dir, clock.now(), 30 * 86_400, TTL + LEEWAY).unwrap();
    TokenService::new(keys, settings(), clock.clone())
}

fn claims(clock: &WallClock) -> Claims {
    let now = clock.now();
    Claims {
        iss: "bulwark".into(),
        aud: "bulwark".into(),
        sub: "alice".into(),
        iat: now,
        nbf: now,
        exp: now + TTL,
        jti: "j1".into(),
        scope: Scopes::parse("read write"),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    clock: WallClock,
    tokens: TokenService,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = WallClock::manual(T0);
    let tokens = service(dir.path(), &clock);
    Fixture {
        _dir: dir,
        clock,
        tokens,
    }
}

#[test]
fn a_fresh_token_validates_with_its_claims() {
    let f = fixture();
    let issued = f
        .tokens
        .issue("alice", &Scopes::parse("read write"))
        .unwrap();
    let header = header_of(issued.token.expose());
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], f.tokens.keys().signing_kid());
    let valid = f.tokens.validate(issued.token.expose()).unwrap();
    assert_eq!(valid.claims.sub, "alice");
    assert_eq!(valid.claims.scope.to_string(), "read write");
    assert_eq!(issued.expires_in, TTL);
    assert_eq!(claims_of(issued.token.expose())["exp"], T0 + TTL);
}

#[test]
fn a_tampered_signature_or_payload_is_refused() {
    let f = fixture();
    let token = f
        .tokens
        .issue("alice", &Scopes::parse("read"))
        .unwrap()
        .token;
    let token = token.expose();
    // Flip a bit of the signature.
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut sig = sig.as_bytes().to_vec();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{input}.{}", String::from_utf8(sig).unwrap());
    assert_eq!(
        f.tokens.validate(&tampered).unwrap_err(),
        TokenError::BadSignature
    );
    // Grant oneself a scope: the payload changes, the signature no longer matches.
    let mut claims = claims_of(token);
    claims["scope"] = json!("admin read write");
    let sig = token.rsplit('.').next().unwrap();
    let escalated = format!(
        "{}.{}.{sig}",
        token.split('.').next().unwrap(),
        forge(&json!({}), &claims, b"").split('.').nth(1).unwrap()
    );
    assert_eq!(
        f.tokens.validate(&escalated).unwrap_err(),
        TokenError::BadSignature
    );
    // The genuine token still validates.
    assert!(f.tokens.validate(token).is_ok());
}

#[test]
fn expiry_is_checked_with_the_leeway_on_first_sight_and_from_the_cache() {
    let f = fixture();
    let cached = f
        .tokens
        .issue("alice", &Scopes::parse("read"))
        .unwrap()
        .token;
    f.tokens.validate(cached.expose()).unwrap(); // now in the cache
    let mut other = claims(&f.clock);
    other.jti = "j2".into();
    let unseen = f.tokens.sign(&other).unwrap();

    f.clock.advance(Duration::from_secs(TTL + LEEWAY - 1));
    assert!(
        f.tokens.validate(cached.expose()).is_ok(),
        "within the leeway"
    );
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(
        f.tokens.validate(cached.expose()).unwrap_err(),
        TokenError::Expired
    );
    assert_eq!(
        f.tokens.validate(unseen.expose()).unwrap_err(),
        TokenError::Expired
    );
}

#[test]
fn a_token_from_the_future_is_refused_until_its_nbf() {
    let f = fixture();
    let mut future = claims(&f.clock);
    future.nbf = T0 + 120;
    let token = f.tokens.sign(&future).unwrap();
    assert_eq!(
        f.tokens.validate(token.expose()).unwrap_err(),
        TokenError::NotYetValid
    );
    f.clock.advance(Duration::from_secs(120 - LEEWAY));
    assert!(f.tokens.validate(token.expose()).is_ok());
}

#[test]
fn wrong_issuer_and_wrong_audience_are_refused() {
    let f = fixture();
    let mut foreign = claims(&f.clock);
    foreign.iss = "someone-else".into();
    let token = f.tokens.sign(&foreign).unwrap();
    assert_eq!(
        f.tokens.validate(token.expose()).unwrap_err(),
        TokenError::WrongIssuer
    );
    let mut foreign = claims(&f.clock);
    foreign.aud = "another-service".into();
    let token = f.tokens.sign(&foreign).unwrap();
    assert_eq!(
        f.tokens.validate(token.expose()).unwrap_err(),
        TokenError::WrongAudience
    );
}

#[test]
fn alg_none_is_refused() {
    let f = fixture();
    let kid = f.tokens.keys().signing_kid();
    let claims = serde_json::to_value(claims(&f.clock)).unwrap();
    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        let unsigned = forge(&header, &claims, b"");
        assert_eq!(
            f.tokens.validate(&unsigned).unwrap_err(),
            TokenError::AlgorithmNotAllowed,
            "{alg}"
        );
        // With the trailing dot dropped as well.
        let bare = unsigned.trim_end_matches('.');
        assert!(
            f.tokens.validate(bare).is_err(),
            "{alg} without a signature part"
        );
    }
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    let f = fixture();
    let kid = f.tokens.keys().signing_kid();
    let public = f.tokens.keys().public_key(&kid).unwrap();
    let claims = serde_json::to_value(claims(&f.clock)).unwrap();
    for alg in ["HS256", "HS384", "HS512"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        let unsigned = forge(&header, &claims, b"");
        let digest = match alg {
            "HS256" => ring::hmac::HMAC_SHA256,
            "HS384" => ring::hmac::HMAC_SHA384,
            _ => ring::hmac::HMAC_SHA512,
        };
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(digest, &public),
            signing_input(&unsigned).as_bytes(),
        );
        let token = forge(&header, &claims, mac.as_ref());
        assert_eq!(
            f.tokens.validate(&token).unwrap_err(),
            TokenError::AlgorithmNotAllowed,
            "{alg}"
        );
    }
    // Other asymmetric algorithms are refused the same way.
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    let token = forge(&header, &claims, &[0u8; 256]);
    assert_eq!(
        f.tokens.validate(&token).unwrap_err(),
        TokenError::AlgorithmNotAllowed
    );
}

#[test]
fn an_unknown_or_missing_kid_is_refused() {
    let f = fixture();
    // A key the service never had: a valid EdDSA signature from a stranger's key.
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = service(stranger_dir.path(), &f.clock);
    let token = stranger
        .issue("alice", &Scopes::parse("read"))
        .unwrap()
        .token;
    assert_eq!(
        f.tokens.validate(token.expose()).unwrap_err(),
        TokenError::UnknownKey
    );
    // Our own signature, but the kid removed from the header: the header is signed, so forge
    // a new one and sign it with the stranger (it cannot be re-signed by us).
    let mut header = header_of(token.expose());
    header.as_object_mut().unwrap().remove("kid");
    let claims = claims_of(token.expose());
    let no_kid = forge(&header, &claims, &[0u8; 64]);
    assert_eq!(
        f.tokens.validate(&no_kid).unwrap_err(),
        TokenError::MissingKeyId
    );
    // A kid pointing at our key with a stranger's signature.
    header["kid"] = json!(f.tokens.keys().signing_kid());
    let sig = token.expose().rsplit('.').next().unwrap();
    let swapped = format!("{}.{sig}", signing_input(&forge(&header, &claims, b"")));
    assert_eq!(
        f.tokens.validate(&swapped).unwrap_err(),
        TokenError::BadSignature
    );
}

#[test]
fn after_a_rotation_old_tokens_keep_validating_until_their_key_is_retired() {
    let dir = tempfile::tempdir().unwrap();
    let clock = WallClock::manual(T0);
    let tokens = service(dir.path(), &clock);
    let old_kid = tokens.keys().signing_kid();
    let old = tokens.issue("alice", &Scopes::parse("read")).unwrap().token;

    clock.advance(Duration::from_secs(60));
    let new_kid = tokens.rotate_keys().unwrap();
    assert_ne!(new_kid, old_kid);
    let new = tokens.issue("alice", &Scopes::parse("read")).unwrap().token;
    assert_eq!(header_of(new.expose())["kid"], new_kid);
    assert!(
        tokens.validate(old.expose()).is_ok(),
        "old key still verifies"
    );
    assert!(tokens.validate(new.expose()).is_ok());

    // A restart (same key dir) signs with the new key and still verifies the old one.
    let restarted = service(dir.path(), &clock);
    assert_eq!(restarted.keys().signing_kid(), new_kid);
    assert!(restarted.validate(old.expose()).is_ok());

    // Once every token of the old key has expired, the key is deleted at the next reload.
    clock.advance(Duration::from_secs(TTL + LEEWAY + 1));
    tokens
        .keys()
        .reload(clock.now(), tokens.retention())
        .unwrap();
    assert_eq!(tokens.keys().verifying_kids(), vec![new_kid.clone()]);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "the retired key file was deleted");
}

#[test]
fn key_files_are_private_and_a_readable_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyRing::open(&dir.path().join("keys"), T0, 86_400, TTL).unwrap();
    let key_dir = dir.path().join("keys");
    assert_eq!(
        std::fs::metadata(&key_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let file = std::fs::read_dir(&key_dir)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        file.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .contains(&keys.signing_kid())
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = KeyRing::open(&key_dir, T0, 86_400, TTL).unwrap_err();
    assert!(
        matches!(refused, KeyError::Permissions { mode: 0o644, .. }),
        "{refused:?}"
    );
    assert!(
        !format!("{refused}").contains("BEGIN"),
        "errors name files only"
    );
}

#[test]
fn revocation_is_honoured_from_the_cache() {
    let f = fixture();
    let a = f
        .tokens
        .issue("alice", &Scopes::parse("read"))
        .unwrap()
        .token;
    let b = f
        .tokens
        .issue("alice", &Scopes::parse("read"))
        .unwrap()
        .token;
    let c = f.tokens.issue("bob", &Scopes::parse("read")).unwrap().token;
    for t in [&a, &b, &c] {
        f.tokens.validate(t.expose()).unwrap(); // cached
    }
    f.tokens.revoke(a.expose()).unwrap();
    assert_eq!(
        f.tokens.validate(a.expose()).unwrap_err(),
        TokenError::Revoked
    );
    assert!(f.tokens.validate(b.expose()).is_ok(), "only that token");
    f.tokens.revoke_subject("alice");
    assert_eq!(
        f.tokens.validate(b.expose()).unwrap_err(),
        TokenError::Revoked
    );
    assert!(f.tokens.validate(c.expose()).is_ok(), "only that subject");
    // Tokens issued after the subject's revocation are fine.
    f.clock.advance(Duration::from_secs(1));
    let fresh = f
        .tokens
        .issue("alice", &Scopes::parse("read"))
        .unwrap()
        .token;
    assert!(f.tokens.validate(fresh.expose()).is_ok());
}

#[test]
fn garbage_is_malformed() {
    let f = fixture();
    for junk in [
        "",
        "a",
        "a.b",
        "a.b.c",
        "....",
        "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
    ] {
        let err = f.tokens.validate(junk).unwrap_err();
        assert!(
            matches!(err, TokenError::Malformed | TokenError::MissingKeyId),
            "{junk:?}: {err:?}"
        );
    }
}
