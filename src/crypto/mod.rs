//! Secrets: random tokens, hashes for what must never be stored in clear, and the export cipher.

pub mod stream;

use std::fmt;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngExt;
use sha2::{Digest, Sha256};

/// A 256-bit key (export encryption, keyed hashes). Never printed.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill(&mut k);
        Self(k)
    }

    /// Parses 32 bytes written in standard base64 (what `dossier keygen` prints).
    pub fn from_base64(s: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD.decode(s.trim()).context("the key is not valid base64")?;
        let arr: [u8; 32] =
            bytes.try_into().map_err(|v: Vec<u8>| anyhow::anyhow!("the key must be 32 bytes, found {}", v.len()))?;
        Ok(Self(arr))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads the key stored at `path`, or creates it (mode 0600) on first start. Demo mode only:
    /// a real deployment passes its keys through the environment.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if path.exists() {
            let s = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            return Self::from_base64(&s).with_context(|| format!("reading the key in {}", path.display()));
        }
        let key = Self::generate();
        write_private(path, key.to_base64().as_bytes())?;
        Ok(key)
    }

    /// A sub-key for one purpose, so one configured secret never serves two uses.
    pub fn derive(&self, purpose: &str) -> SecretKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        SecretKey(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

/// A URL-safe token of `bytes` random bytes from the operating system's CSPRNG.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A 6-digit code, uniformly drawn.
pub fn random_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// An opaque identifier for rows (128 random bits, hex).
pub fn new_id() -> String {
    let mut buf = [0u8; 16];
    rand::rng().fill(&mut buf);
    hex(&buf)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// HMAC-SHA256 of `data` under `key`, hex: for values looked up but never stored in clear
/// (emails in rate limits, verification codes).
pub fn keyed_hash(key: &SecretKey, data: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
    mac.update(data);
    hex(&mac.finalize().into_bytes())
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
    }

    #[test]
    fn codes_have_six_digits() {
        for _ in 0..1000 {
            let c = random_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn key_round_trips_and_rejects_wrong_length() {
        let k = SecretKey::generate();
        assert_eq!(SecretKey::from_base64(&k.to_base64()).unwrap().as_bytes(), k.as_bytes());
        assert!(SecretKey::from_base64("c2hvcnQ=").is_err());
        assert!(SecretKey::from_base64("not base64!").is_err());
        assert_eq!(format!("{k:?}"), "SecretKey(***)");
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let k = SecretKey::generate();
        assert_ne!(k.derive("a").as_bytes(), k.derive("b").as_bytes());
        assert_eq!(k.derive("a").as_bytes(), k.derive("a").as_bytes());
    }

    #[test]
    fn keyed_hash_depends_on_key() {
        let (a, b) = (SecretKey::generate(), SecretKey::generate());
        assert_ne!(keyed_hash(&a, b"x"), keyed_hash(&b, b"x"));
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
