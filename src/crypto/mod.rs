//! Secrets: random tokens, hashes for what must never be stored in clear, and the export cipher.

pub mod password;
pub mod stream;
pub mod totp;

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
    crate::fsutil::write_private_new(path, bytes).with_context(|| format!("creating {}", path.display()))
}

/// Seals a short value (an outbox email's address, subject or body) with ChaCha20-Poly1305 under
/// `key`, binding it to `context` (associated data: which row and column it belongs to), so a
/// value copied into another row or column no longer opens. Returns base64 (URL-safe, no padding)
/// of a random 96-bit nonce followed by the ciphertext and its tag.
pub fn seal(key: &SecretKey, context: &[u8], plaintext: &[u8]) -> anyhow::Result<String> {
    use chacha20poly1305::aead::{AeadInOut, KeyInit};
    use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
    let mut nonce = [0u8; 12];
    rand::rng().fill(&mut nonce);
    let cipher = ChaCha20Poly1305::new(&Key::from(*key.as_bytes()));
    let mut out = Vec::with_capacity(12 + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_inout_detached(&Nonce::from(nonce), context, (&mut out[12..]).into())
        .map_err(|_| anyhow::anyhow!("sealing a value failed"))?;
    out.extend_from_slice(&tag);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// Opens what [`seal`] produced with the same key and context; fails when the value was
/// altered, moved to another context, or sealed under another key.
pub fn open(key: &SecretKey, context: &[u8], sealed: &str) -> anyhow::Result<Vec<u8>> {
    use chacha20poly1305::aead::{AeadInOut, KeyInit};
    use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
    let bytes = URL_SAFE_NO_PAD.decode(sealed.trim()).context("the sealed value is not valid base64")?;
    if bytes.len() < 12 + 16 {
        anyhow::bail!("the sealed value is too short");
    }
    let (nonce, rest) = bytes.split_at(12);
    let (ciphertext, tag) = rest.split_at(rest.len() - 16);
    let nonce: [u8; 12] = nonce.try_into().context("nonce length")?;
    let tag: [u8; 16] = tag.try_into().context("tag length")?;
    let mut plain = ciphertext.to_vec();
    ChaCha20Poly1305::new(&Key::from(*key.as_bytes()))
        .decrypt_inout_detached(&Nonce::from(nonce), context, plain.as_mut_slice().into(), &Tag::from(tag))
        .map_err(|_| {
            anyhow::anyhow!("the sealed value failed authentication (altered, or sealed under another key)")
        })?;
    Ok(plain)
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
    fn sealed_values_open_only_with_their_key_and_context() {
        let k = SecretKey::generate().derive("outbox-v1");
        let sealed = seal(&k, b"row-1\0subject", "Vérifiez votre adresse".as_bytes()).unwrap();
        assert!(!sealed.contains("rifiez"));
        assert_ne!(sealed, seal(&k, b"row-1\0subject", "Vérifiez votre adresse".as_bytes()).unwrap(), "fresh nonce");
        assert_eq!(open(&k, b"row-1\0subject", &sealed).unwrap(), "Vérifiez votre adresse".as_bytes());
        assert!(open(&k, b"row-2\0subject", &sealed).is_err(), "moved to another row");
        assert!(open(&SecretKey::generate(), b"row-1\0subject", &sealed).is_err(), "another key");
        let mut flipped = sealed.into_bytes();
        flipped[20] = if flipped[20] == b'A' { b'B' } else { b'A' };
        assert!(open(&k, b"row-1\0subject", &String::from_utf8(flipped).unwrap()).is_err(), "altered");
        assert!(open(&k, b"x", "short").is_err());
        assert!(open(&k, b"x", "not base64!").is_err());
        assert_eq!(open(&k, b"", &seal(&k, b"", b"").unwrap()).unwrap(), b"");
    }

    #[test]
    fn keyed_hash_depends_on_key() {
        let (a, b) = (SecretKey::generate(), SecretKey::generate());
        assert_ne!(keyed_hash(&a, b"x"), keyed_hash(&b, b"x"));
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
