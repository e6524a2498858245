//! One-time codes for the staff second factor: HOTP (RFC 4226) and TOTP (RFC 6238) with
//! HMAC-SHA1, 30-second steps and 6 digits, the parameters every authenticator app uses; base32
//! (RFC 4648) and the `otpauth://` URI to enrol one; and the at-rest sealing of a secret.
//!
//! Pure functions: the caller gives the time, and stores the last accepted step so a code is
//! accepted once (RFC 6238 §5.2).

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use hmac::{Hmac, Mac};
use rand::RngExt;
use sha1::Sha1;

use super::{SecretKey, constant_time_eq};

/// Seconds per time step (RFC 6238 §4.1, X = 30).
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Secret length: 160 bits, the HMAC-SHA1 output size (RFC 4226 §4, R6).
pub const SECRET_BYTES: usize = 20;
/// Steps accepted either side of the current one, for clocks that drift (RFC 6238 §5.2).
pub const WINDOW: i64 = 1;

/// HOTP value of `counter` under `secret`, with `digits` digits (RFC 4226 §5.3).
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else { return u32::MAX };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    // Dynamic truncation: the low 4 bits of the last byte pick 4 bytes, top bit cleared.
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([h[offset] & 0x7f, h[offset + 1], h[offset + 2], h[offset + 3]]);
    bin % 10u32.pow(digits)
}

/// The time step an instant (unix milliseconds) falls in.
pub fn step_at(unix_ms: i64) -> i64 {
    unix_ms.div_euclid(STEP_SECONDS * 1000)
}

/// The 6-digit code of `step`, zero-padded.
pub fn code(secret: &[u8], step: i64) -> String {
    format!("{:0width$}", hotp(secret, u64::try_from(step).unwrap_or(0), DIGITS), width = DIGITS as usize)
}

/// Checks a typed code at `now_ms`. Accepts the current step and one either side, but only a step
/// later than `last_step` (the last one accepted for this secret), so a code seen over someone's
/// shoulder or in a log cannot be used a second time. Returns the matched step, to be stored.
pub fn verify(secret: &[u8], typed: &str, now_ms: i64, last_step: Option<i64>) -> Option<i64> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(now_ms);
    let mut found = None;
    // Every candidate is compared, in constant time, whatever matched first.
    for step in (now - WINDOW)..=(now + WINDOW) {
        let fresh = last_step.is_none_or(|last| step > last);
        if constant_time_eq(code(secret, step).as_bytes(), typed.as_bytes()) && fresh && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// A fresh random secret.
pub fn generate_secret() -> Vec<u8> {
    let mut s = vec![0u8; SECRET_BYTES];
    rand::rng().fill(&mut s[..]);
    s
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 without padding (RFC 4648 §6), as authenticator apps take secrets.
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(char::from(ALPHABET[((buffer >> (bits - 5)) & 31) as usize]));
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes base32, ignoring case, spaces and padding.
pub fn base32_decode(s: &str) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let c = c.to_ascii_uppercase();
        let Some(v) = ALPHABET.iter().position(|&a| char::from(a) == c) else { bail!("not base32: {c:?}") };
        buffer = (buffer << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            out.push(((buffer >> (bits - 8)) & 0xff) as u8);
            bits -= 8;
        }
        buffer &= (1 << bits) - 1;
    }
    Ok(out)
}

/// Shows a base32 secret in groups of four, easier to type.
pub fn grouped(b32: &str) -> String {
    b32.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

fn percent_encode(s: &str) -> String {
    use std::fmt::Write;
    s.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// The Key Uri Format authenticator apps read (from a QR code or a link).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        percent_encode(issuer),
        percent_encode(account),
        base32_encode(secret),
        percent_encode(issuer)
    )
}

/// Encrypts a secret for the store with ChaCha20-Poly1305, bound to its account (`context` is the
/// associated data, so a sealed secret copied to another account's row does not open).
pub fn seal(key: &SecretKey, context: &str, secret: &[u8]) -> anyhow::Result<String> {
    let cipher = ChaCha20Poly1305::new(&Key::from(*key.as_bytes()));
    let mut nonce = [0u8; 12];
    rand::rng().fill(&mut nonce);
    let mut buf = secret.to_vec();
    let tag = cipher
        .encrypt_inout_detached(&Nonce::from(nonce), context.as_bytes(), buf.as_mut_slice().into())
        .map_err(|_| anyhow::anyhow!("sealing a second-factor secret"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    out.extend_from_slice(&tag);
    Ok(format!("v1:{}", STANDARD.encode(out)))
}

/// Opens what [`seal`] wrote.
pub fn open(key: &SecretKey, context: &str, sealed: &str) -> anyhow::Result<Vec<u8>> {
    let raw = sealed.strip_prefix("v1:").context("unknown second-factor secret format")?;
    let bytes = STANDARD.decode(raw).context("second-factor secret is not base64")?;
    if bytes.len() < 12 + 16 {
        bail!("second-factor secret too short");
    }
    let (nonce, rest) = bytes.split_at(12);
    let (ct, tag) = rest.split_at(rest.len() - 16);
    let cipher = ChaCha20Poly1305::new(&Key::from(*key.as_bytes()));
    let nonce: [u8; 12] = nonce.try_into().context("nonce length")?;
    let tag = Tag::try_from(tag).map_err(|_| anyhow::anyhow!("bad tag length"))?;
    let mut buf = ct.to_vec();
    cipher
        .decrypt_inout_detached(&Nonce::from(nonce), context.as_bytes(), buf.as_mut_slice().into(), &tag)
        .map_err(|_| anyhow::anyhow!("second-factor secret does not open with this key"))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 6238 Appendix B seed for HMAC-SHA1: ASCII "12345678901234567890".
    const SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        // (unix seconds, T as in the RFC, 8-digit TOTP)
        let vectors: [(i64, u64, u32); 6] = [
            (59, 0x1, 94_287_082),
            (1_111_111_109, 0x23523EC, 7_081_804),
            (1_111_111_111, 0x23523ED, 14_050_471),
            (1_234_567_890, 0x273EF07, 89_005_924),
            (2_000_000_000, 0x3F940AA, 69_279_037),
            (20_000_000_000, 0x27BC86AA, 65_353_130),
        ];
        for (seconds, t, expected) in vectors {
            assert_eq!(step_at(seconds * 1000), t as i64, "T at {seconds}");
            assert_eq!(hotp(SEED, t, 8), expected, "TOTP at {seconds}");
            // Six digits are the last six of the same value (RFC 4226 §5.3).
            assert_eq!(code(SEED, t as i64), format!("{:06}", expected % 1_000_000));
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_vectors() {
        let expected = [755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871, 520_489];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(SEED, counter as u64, 6), value, "counter {counter}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_once() {
        let now = 1_111_111_111_000;
        let step = step_at(now);
        assert_eq!(verify(SEED, &code(SEED, step), now, None), Some(step));
        assert_eq!(verify(SEED, &code(SEED, step - 1), now, None), Some(step - 1));
        assert_eq!(verify(SEED, &code(SEED, step + 1), now, None), Some(step + 1));
        assert_eq!(verify(SEED, &code(SEED, step - 2), now, None), None, "too old");
        assert_eq!(verify(SEED, &code(SEED, step + 2), now, None), None, "too far ahead");
        assert_eq!(verify(SEED, &code(SEED, step), now, Some(step)), None, "replayed");
        assert_eq!(verify(SEED, &code(SEED, step - 1), now, Some(step - 1 - 1)), Some(step - 1));
        assert_eq!(verify(SEED, &code(SEED, step - 1), now, Some(step)), None, "older than the last used");
        let spaced = format!("{} {}", &code(SEED, step)[..3], &code(SEED, step)[3..]);
        assert_eq!(verify(SEED, &spaced, now, None), Some(step), "spaces are ignored");
        for bad in ["", "12345", "1234567", "abcdef", "１２３４５６"] {
            assert_eq!(verify(SEED, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn base32_matches_rfc4648_and_round_trips() {
        // RFC 4648 §10 vectors, without padding.
        for (plain, enc) in
            [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB")]
        {
            assert_eq!(base32_encode(plain.as_bytes()), enc);
            assert_eq!(base32_decode(enc).unwrap(), plain.as_bytes());
        }
        assert_eq!(base32_encode(SEED), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let s = generate_secret();
        assert_eq!(s.len(), 20);
        assert_eq!(base32_decode(&grouped(&base32_encode(&s)).to_lowercase()).unwrap(), s);
        assert!(base32_decode("MZ1W").is_err());
    }

    #[test]
    fn the_uri_names_the_issuer_and_account() {
        let uri = otpauth_uri("Dossier Exemple SAS", "dpo@exemple.test", SEED);
        assert_eq!(
            uri,
            "otpauth://totp/Dossier%20Exemple%20SAS:dpo@exemple.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Dossier%20Exemple%20SAS&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_account() {
        let key = SecretKey::generate();
        let sealed = seal(&key, "staff-1", SEED).unwrap();
        assert!(!sealed.contains(&base32_encode(SEED)));
        assert_eq!(open(&key, "staff-1", &sealed).unwrap(), SEED);
        assert!(open(&key, "staff-2", &sealed).is_err(), "bound to its account");
        assert!(open(&SecretKey::generate(), "staff-1", &sealed).is_err());
        assert!(open(&key, "staff-1", "v1:AAAA").is_err());
        assert_ne!(seal(&key, "staff-1", SEED).unwrap(), sealed, "a fresh nonce each time");
    }
}
