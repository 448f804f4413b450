//! Random tokens and their stored hashes.
//!
//! Our tokens carry 256 bits of randomness, so SHA-256 is the right stored form: a slow
//! password hash only matters for guessable secrets, and lookups by hash stay O(1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new random token: `prefix` + 43 URL-safe characters.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    // The OS generator failing means the machine is unusable for crypto; nothing to recover.
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_prefixed_and_hash_stably() {
        let a = generate("pv_");
        let b = generate("pv_");
        assert_ne!(a, b);
        assert!(a.starts_with("pv_") && a.len() == 3 + 43);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert!(equal(&a, &a.clone()));
        assert!(!equal(&a, &b));
        assert!(!equal("abc", "abcd"));
    }
}
