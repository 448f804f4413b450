//! Passwords: argon2id with the `argon2` crate's defaults, which are OWASP's recommendation
//! (19 MiB memory, 2 iterations, 1 lane).
//!
//! Hashing takes tens of milliseconds of CPU, so it runs in a blocking task, and at most two
//! at once so that a flood of logins cannot starve the rest of the server.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::error::AppError;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 1024;

static HASHING: Semaphore = Semaphore::const_new(2);

/// Checks a new password; the message is shown to the user as is.
pub fn validate_new(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Err(format!("The password must have at least {MIN_LENGTH} characters."));
    }
    if chars > MAX_LENGTH {
        return Err(format!("The password must have at most {MAX_LENGTH} characters."));
    }
    Ok(())
}

/// Hashes a password to a PHC string (`$argon2id$v=19$...`).
pub async fn hash(password: SecretString) -> Result<String, AppError> {
    let _permit = HASHING.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || hash_blocking(password.expose_secret()))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
}

pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2 hashing failed: {e}")))
}

/// True when `password` matches `stored`. With `stored = None` (unknown user) it verifies
/// against a dummy hash, so the answer takes as long as for a real account: no timing oracle
/// tells an attacker which emails exist.
pub async fn verify(password: SecretString, stored: Option<String>) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = PasswordHash::new(&phc).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok()
        });
        ok && known
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking("policyvault-dummy-password-for-unknown-users")
            .unwrap_or_else(|_| String::from("$argon2id$v=19$m=19456,t=2,p=1$invalid"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hash(SecretString::from("correct horse battery")).await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(SecretString::from("correct horse battery"), Some(h.clone())).await);
        assert!(!verify(SecretString::from("wrong horse battery"), Some(h)).await);
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies_even_with_the_dummy_password() {
        assert!(!verify(SecretString::from("policyvault-dummy-password-for-unknown-users"), None).await);
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(validate_new("short").is_err());
        assert!(validate_new(&"x".repeat(MAX_LENGTH + 1)).is_err());
        assert!(validate_new("twelve chars").is_ok());
    }
}
