//! The crypto provider behind `jsonwebtoken`: Ed25519 (EdDSA) only, on ed25519-dalek.
//!
//! jsonwebtoken 12 leaves the choice of cryptography to the application. Its two built-in
//! providers bring every algorithm: `aws_lc_rs` needs cmake and a C build; `rust_crypto` brings
//! RSA (with its unfixed timing advisory), P-256, P-384 and HMAC, none of which Bulwark uses.
//! This provider implements EdDSA and refuses every other algorithm, so even a misconfigured
//! validation could never accept an HMAC token made with the public key: the crypto layer cannot
//! check one. ed25519-dalek picks its AVX2 backend at run time where the CPU has it; decompressed
//! public keys are kept, so a validation pays for the signature check and little else.

use std::sync::{PoisonError, RwLock};

use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Installs the provider for the process (once; later calls do nothing). Returns `false` when
/// another provider was installed first — it is then the one in use.
pub(crate) fn install() -> bool {
    let _ = PROVIDER.install_default();
    CryptoProvider::try_get_default().is_some_and(|p| std::ptr::eq(p, &PROVIDER))
}

fn signer_factory(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *alg != Algorithm::EdDSA {
        return Err(ErrorKind::UnsupportedAlgorithm.into());
    }
    let key = SigningKey::from_pkcs8_der(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdSigner(key)))
}

fn verifier_factory(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *alg != Algorithm::EdDSA {
        return Err(ErrorKind::UnsupportedAlgorithm.into());
    }
    let bytes: &[u8; 32] = key
        .try_get_as_bytes()?
        .try_into()
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdVerifier(verifying_key(bytes)?)))
}

/// Decompressed public keys, by their bytes: jsonwebtoken asks for a verifier per token, and
/// decompressing the point costs about as much as the rest of the validation apart from the
/// signature itself. A handful of keys verify at any time; past the bound the oldest goes.
static DECOMPRESSED: RwLock<Vec<([u8; 32], VerifyingKey)>> = RwLock::new(Vec::new());
const DECOMPRESSED_MAX: usize = 16;

fn verifying_key(bytes: &[u8; 32]) -> Result<VerifyingKey> {
    let known = DECOMPRESSED.read().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, key)) = known.iter().find(|(b, _)| b == bytes) {
        return Ok(*key);
    }
    drop(known);
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let mut known = DECOMPRESSED.write().unwrap_or_else(PoisonError::into_inner);
    if known.len() >= DECOMPRESSED_MAX {
        known.remove(0);
    }
    known.push((*bytes, key));
    Ok(key)
}

struct EdSigner(SigningKey);

impl signature::Signer<Vec<u8>> for EdSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(msg).to_bytes().to_vec())
    }
}

impl JwtSigner for EdSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct EdVerifier(VerifyingKey);

impl signature::Verifier<Vec<u8>> for EdVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let sig = Signature::from_slice(sig)?;
        // RFC 8032 verification (a non-canonical S is refused). `verify_strict` would also
        // refuse small-order public keys and R values: our keys are our own, never small
        // order, and a malleated signature could only re-encode claims we signed (same `jti`,
        // same revocation) — not worth its ~50 % more time on the first-sight path.
        self.0.verify(msg, &sig)
    }
}

impl JwtVerifier for EdVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}
