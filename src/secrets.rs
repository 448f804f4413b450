//! The master key and the sealing of tenant client secrets.
//!
//! XChaCha20-Poly1305 (the `chacha20poly1305` crate): a random 24-byte nonce per seal, so
//! random nonces never collide in practice, and the tenant id as associated data, so a sealed
//! secret moved to another tenant's row fails to open instead of handing out the wrong secret.

use std::fs;
use std::io::Write;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};

const KEY_FILE: &str = "master.key";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("PV_MASTER_KEY must be 64 hex characters (32 bytes); generate one with `openssl rand -hex 32`")]
    BadEnvKey,
    #[error(
        "the key file {0} is not 64 hex characters; restore it from your backup (without it, stored tenant secrets cannot be read)"
    )]
    BadKeyFile(String),
    #[error(
        "the key file {0} is empty: an older policyvault ran out of disk space while creating it. If no tenant was ever added, delete it and start again; otherwise restore it from your backup"
    )]
    EmptyKeyFile(String),
    #[error("could not read or write the key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the system random generator failed: {0}")]
    Random(String),
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the stored secret could not be decrypted: was the master key changed?")]
    Open,
    #[error("the secret could not be encrypted")]
    Seal,
}

/// Holds the key; deliberately no `Debug`, so it cannot end up in a log line.
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    /// HMAC key for fingerprints of captured secret values, derived from the master key so
    /// a fingerprint says nothing about a value to anyone without the key.
    fingerprint_key: [u8; 32],
    /// A separate key for MACs (pre-login CSRF tokens), derived from the master key so it
    /// survives restarts without a second file, and never the encryption key itself.
    mac_key: [u8; 32],
}

impl MasterKey {
    /// `PV_MASTER_KEY` when given, else the key file in the data dir, created (mode 0600) on
    /// first start.
    pub fn load_or_create(data_dir: &Path, from_env: Option<&str>) -> Result<MasterKey, KeyError> {
        if let Some(hex_key) = from_env {
            let bytes = decode_key(hex_key.trim()).ok_or(KeyError::BadEnvKey)?;
            return Ok(MasterKey::from_bytes(&bytes));
        }
        let path = data_dir.join(KEY_FILE);
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match fs::read_to_string(&path) {
            Ok(text) if text.trim().is_empty() => Err(KeyError::EmptyKeyFile(path.display().to_string())),
            Ok(text) => {
                let bytes = decode_key(text.trim()).ok_or_else(|| KeyError::BadKeyFile(path.display().to_string()))?;
                Ok(MasterKey::from_bytes(&bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
                write_private(&path, hex::encode(bytes).as_bytes()).map_err(io)?;
                Ok(MasterKey::from_bytes(&bytes))
            }
            Err(e) => Err(io(e)),
        }
    }

    fn from_bytes(bytes: &[u8; 32]) -> MasterKey {
        MasterKey {
            cipher: XChaCha20Poly1305::new(bytes.into()),
            fingerprint_key: hmac_sha256(bytes, b"policyvault fingerprint key v1"),
            mac_key: hmac_sha256(bytes, b"policyvault mac key v1"),
        }
    }

    /// HMAC-SHA256 of `msg` under the derived MAC key (pre-login CSRF tokens).
    pub fn mac(&self, msg: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.mac_key, msg)
    }

    /// A keyed fingerprint (HMAC-SHA256, hex) of a value within a context: equal values give
    /// equal fingerprints, so an unchanged secret is not a change, while the value cannot be
    /// guessed from it without the master key.
    pub fn fingerprint(&self, context: &str, value: &str) -> String {
        let mut data = Vec::with_capacity(context.len() + 1 + value.len());
        data.extend_from_slice(context.as_bytes());
        data.push(0);
        data.extend_from_slice(value.as_bytes());
        hex::encode(hmac_sha256(&self.fingerprint_key, &data))
    }

    pub fn seal(&self, plaintext: &SecretString, context: &str) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Seal)?;
        let payload = Payload {
            msg: plaintext.expose_secret().as_bytes(),
            aad: context.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| SealError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<SecretString, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| SealError::Open)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SealError::Open)
    }
}

fn decode_key(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}

/// Creates the file readable by its owner only, atomically: the contents go to a temporary
/// file that is synced and then linked into place, so a full disk or a crash leaves either
/// no key file or a complete one, never an empty one. Fails rather than overwrite an
/// existing key (`hard_link` refuses an existing target, `rename` would replace it).
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_private_with(path, |file| file.write_all(contents))
}

fn write_private_with(path: &Path, write: impl FnOnce(&mut fs::File) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".tmp-{}", std::process::id()));
    let temp = std::path::PathBuf::from(temp);
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temp)?;
        write(&mut file)?;
        file.sync_all()?;
        fs::hard_link(&temp, path)?;
        // The new directory entry must survive a power cut too.
        if let Some(dir) = path.parent() {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    let _ = fs::remove_file(&temp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_bytes(&[7u8; 32])
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_context() {
        let k = key();
        let sealed = k.seal(&SecretString::from("s3cret-value"), "tenant-a").expect("seal");
        assert!(!sealed.windows(12).any(|w| w == b"s3cret-value"));
        assert_eq!(
            k.open(&sealed, "tenant-a").expect("open").expose_secret(),
            "s3cret-value"
        );
        assert!(k.open(&sealed, "tenant-b").is_err());
    }

    #[test]
    fn a_tampered_or_short_ciphertext_is_refused() {
        let k = key();
        let mut sealed = k.seal(&SecretString::from("x"), "t").expect("seal");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(k.open(&sealed, "t").is_err());
        assert!(k.open(&[1, 2, 3], "t").is_err());
    }

    #[test]
    fn the_key_file_is_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = MasterKey::load_or_create(dir.path(), None).expect("create");
        let sealed = a.seal(&SecretString::from("x"), "t").expect("seal");
        let b = MasterKey::load_or_create(dir.path(), None).expect("load");
        assert_eq!(b.open(&sealed, "t").expect("open").expose_secret(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_failed_key_write_leaves_no_key_file_and_an_empty_one_is_explained() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(KEY_FILE);
        let full = write_private_with(&path, |_| Err(std::io::Error::from(std::io::ErrorKind::StorageFull)));
        assert!(full.is_err());
        assert!(!path.exists(), "no key file after a failed write");
        assert_eq!(
            fs::read_dir(dir.path()).expect("dir").count(),
            0,
            "no temporary file left"
        );
        // The next start creates the key normally.
        assert!(MasterKey::load_or_create(dir.path(), None).is_ok());
        // A 0-byte key left by an older version gets a message that says what happened.
        let other = tempfile::tempdir().expect("tempdir");
        fs::write(other.path().join(KEY_FILE), b"").expect("empty key");
        let err = MasterKey::load_or_create(other.path(), None).err().expect("refused");
        assert!(err.to_string().contains("is empty"), "{err}");
    }

    #[test]
    fn a_malformed_env_key_is_refused_with_a_hint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = MasterKey::load_or_create(dir.path(), Some("abc")).err().expect("error");
        assert!(err.to_string().contains("64 hex"));
    }
}
