//! Streaming authenticated encryption of files at rest (exports, spools).
//!
//! ChaCha20-Poly1305 in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
//! Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", 2015):
//!
//! ```text
//! header  = magic "DSEC" (4) || version 0x01 (1) || random nonce prefix (7)
//! chunk_i = ChaCha20-Poly1305(key, nonce_i, aad = header, plaintext_i) || tag (16)
//! nonce_i = prefix (7) || i as u32 big-endian (4) || last flag (1: 0x01 on the final chunk)
//! ```
//!
//! Every chunk but the last holds exactly [`CHUNK_SIZE`] bytes of plaintext; the last holds fewer
//! (possibly none) and carries the last flag. A reader therefore detects tampering (tag), reordering
//! or dropped chunks (counter in the nonce), truncation (no chunk with the last flag), appended bytes
//! (the last chunk no longer authenticates) and a wrong key, and reports all of them as
//! [`io::ErrorKind::InvalidData`]. It never returns plaintext from a chunk that did not authenticate.
//! Memory use is one chunk on each side.
//!
//! The nonce prefix is random per file, so one key may encrypt many files; callers should still
//! use a key dedicated to this purpose (`SecretKey::derive`).

use std::io::{self, Read, Write};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use rand::RngExt;

use super::SecretKey;

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
const TAG_SIZE: usize = 16;
const MAGIC: &[u8; 4] = b"DSEC";
const VERSION: u8 = 1;
const PREFIX_SIZE: usize = 7;
/// Bytes before the first chunk.
pub const HEADER_SIZE: usize = MAGIC.len() + 1 + PREFIX_SIZE;

fn cipher(key: &SecretKey) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(&Key::from(*key.as_bytes()))
}

fn nonce(prefix: &[u8; PREFIX_SIZE], counter: u32, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..PREFIX_SIZE].copy_from_slice(prefix);
    n[PREFIX_SIZE..PREFIX_SIZE + 4].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::from(n)
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Encrypts everything written to it into `inner`. [`EncryptingWriter::finish`] must be called:
/// without it the output has no final chunk and will not decrypt.
pub struct EncryptingWriter<W: Write> {
    inner: W,
    cipher: ChaCha20Poly1305,
    header: [u8; HEADER_SIZE],
    prefix: [u8; PREFIX_SIZE],
    counter: u32,
    /// Plaintext of the current chunk; room for the tag so it is sealed in place.
    buf: Vec<u8>,
}

impl<W: Write> EncryptingWriter<W> {
    /// Writes the header to `inner` and returns a writer ready for plaintext.
    pub fn new(mut inner: W, key: &SecretKey) -> io::Result<Self> {
        let mut prefix = [0u8; PREFIX_SIZE];
        rand::rng().fill(&mut prefix);
        let mut header = [0u8; HEADER_SIZE];
        header[..4].copy_from_slice(MAGIC);
        header[4] = VERSION;
        header[5..].copy_from_slice(&prefix);
        inner.write_all(&header)?;
        Ok(Self {
            inner,
            cipher: cipher(key),
            header,
            prefix,
            counter: 0,
            buf: Vec::with_capacity(CHUNK_SIZE + TAG_SIZE),
        })
    }

    fn seal_chunk(&mut self, last: bool) -> io::Result<()> {
        let nonce = nonce(&self.prefix, self.counter, last);
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &self.header, self.buf.as_mut_slice().into())
            .map_err(|_| io::Error::other("chunk encryption failed"))?;
        self.buf.extend_from_slice(&tag);
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.counter = self.counter.checked_add(1).ok_or_else(|| io::Error::other("encrypted stream too long"))?;
        Ok(())
    }

    /// Seals the final chunk, flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal_chunk(true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl<W: Write> Write for EncryptingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // A full chunk is sealed as soon as it is full: full chunks are never final, so the final
        // chunk is always shorter than CHUNK_SIZE (possibly empty), which is how the reader knows it.
        let n = data.len().min(CHUNK_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK_SIZE {
            self.seal_chunk(false)?;
        }
        Ok(n)
    }

    /// Flushes the inner writer; plaintext of a partial chunk stays buffered until it fills up
    /// or [`EncryptingWriter::finish`] is called.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts and authenticates what [`EncryptingWriter`] produced.
pub struct DecryptingReader<R: Read> {
    inner: R,
    cipher: ChaCha20Poly1305,
    header: [u8; HEADER_SIZE],
    prefix: [u8; PREFIX_SIZE],
    counter: u32,
    buf: Vec<u8>,
    /// Authenticated plaintext not yet returned: `buf[pos..end]`.
    pos: usize,
    end: usize,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    Done,
    Failed,
}

impl<R: Read> DecryptingReader<R> {
    /// Reads and checks the header.
    pub fn new(mut inner: R, key: &SecretKey) -> io::Result<Self> {
        let mut header = [0u8; HEADER_SIZE];
        inner.read_exact(&mut header).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => invalid("encrypted file too short"),
            _ => e,
        })?;
        if &header[..4] != MAGIC {
            return Err(invalid("not an encrypted Dossier file"));
        }
        if header[4] != VERSION {
            return Err(invalid("unsupported encrypted file version"));
        }
        let mut prefix = [0u8; PREFIX_SIZE];
        prefix.copy_from_slice(&header[5..]);
        Ok(Self {
            inner,
            cipher: cipher(key),
            header,
            prefix,
            counter: 0,
            buf: vec![0u8; CHUNK_SIZE + TAG_SIZE],
            pos: 0,
            end: 0,
            state: State::Reading,
        })
    }

    /// Reads, authenticates and decrypts the next chunk into `buf`.
    fn next_chunk(&mut self) -> io::Result<()> {
        let mut filled = 0;
        while filled < self.buf.len() {
            match self.inner.read(&mut self.buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled < TAG_SIZE {
            return Err(invalid("encrypted file is truncated"));
        }
        // Only a full chunk can be followed by another; anything shorter must be the last one.
        let last = filled < self.buf.len();
        let len = filled - TAG_SIZE;
        let tag = Tag::try_from(&self.buf[len..filled]).map_err(|_| invalid("bad tag length"))?;
        let nonce = nonce(&self.prefix, self.counter, last);
        self.cipher
            .decrypt_inout_detached(&nonce, &self.header, (&mut self.buf[..len]).into(), &tag)
            .map_err(|_| invalid("encrypted file is corrupt, truncated or the key is wrong"))?;
        self.counter = self.counter.checked_add(1).ok_or_else(|| invalid("encrypted stream too long"))?;
        self.pos = 0;
        self.end = len;
        if last {
            self.state = State::Done;
        }
        Ok(())
    }
}

impl<R: Read> Read for DecryptingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.end {
            match self.state {
                State::Done => return Ok(0),
                State::Failed => return Err(invalid("encrypted file failed authentication")),
                State::Reading => {
                    if let Err(e) = self.next_chunk() {
                        self.state = State::Failed;
                        self.pos = 0;
                        self.end = 0;
                        return Err(e);
                    }
                }
            }
            if out.is_empty() {
                return Ok(0);
            }
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encrypt(data: &[u8], key: &SecretKey) -> Vec<u8> {
        let mut w = EncryptingWriter::new(Vec::new(), key).unwrap();
        // Odd write sizes so chunk boundaries fall inside writes.
        for piece in data.chunks(10_007) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap()
    }

    fn decrypt(data: &[u8], key: &SecretKey) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        DecryptingReader::new(data, key)?.read_to_end(&mut out)?;
        Ok(out)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn assert_invalid(r: io::Result<Vec<u8>>) {
        match r {
            Ok(_) => panic!("decryption should have failed"),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}"),
        }
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        let key = SecretKey::generate();
        for len in [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE] {
            let data = sample(len);
            let enc = encrypt(&data, &key);
            let chunks = len / CHUNK_SIZE + 1;
            assert_eq!(enc.len(), HEADER_SIZE + len + chunks * TAG_SIZE, "len {len}");
            assert_eq!(decrypt(&enc, &key).unwrap(), data, "len {len}");
        }
    }

    #[test]
    fn same_plaintext_encrypts_differently() {
        let key = SecretKey::generate();
        assert_ne!(encrypt(b"hello", &key), encrypt(b"hello", &key));
    }

    #[test]
    fn wrong_key_fails() {
        let enc = encrypt(&sample(1000), &SecretKey::generate());
        assert_invalid(decrypt(&enc, &SecretKey::generate()));
    }

    #[test]
    fn any_flipped_byte_fails() {
        let key = SecretKey::generate();
        let enc = encrypt(&sample(CHUNK_SIZE + 100), &key);
        for pos in [0, 4, 5, HEADER_SIZE, HEADER_SIZE + 5000, HEADER_SIZE + CHUNK_SIZE + 3, enc.len() - 1] {
            let mut bad = enc.clone();
            bad[pos] ^= 0x01;
            assert_invalid(decrypt(&bad, &key));
        }
    }

    #[test]
    fn truncation_fails() {
        let key = SecretKey::generate();
        for len in [0, 10, CHUNK_SIZE, 2 * CHUNK_SIZE + 7] {
            let enc = encrypt(&sample(len), &key);
            // Cut anywhere: inside the header, right after a full chunk, inside the last chunk.
            let mut cuts = vec![3, HEADER_SIZE, enc.len() - 1];
            if len >= CHUNK_SIZE {
                cuts.push(HEADER_SIZE + CHUNK_SIZE + TAG_SIZE);
            }
            for cut in cuts {
                assert_invalid(decrypt(&enc[..cut], &key));
            }
        }
    }

    #[test]
    fn appended_bytes_fail() {
        let key = SecretKey::generate();
        for len in [0, 100, CHUNK_SIZE] {
            let mut enc = encrypt(&sample(len), &key);
            enc.extend_from_slice(b"x");
            assert_invalid(decrypt(&enc, &key));
        }
        // Appending a whole valid-looking chunk (copied from the same file) fails too.
        let mut enc = encrypt(&sample(10), &key);
        let last = enc[HEADER_SIZE..].to_vec();
        enc.extend_from_slice(&last);
        assert_invalid(decrypt(&enc, &key));
    }

    #[test]
    fn reordered_chunks_fail() {
        let key = SecretKey::generate();
        let enc = encrypt(&sample(2 * CHUNK_SIZE + 10), &key);
        let c = CHUNK_SIZE + TAG_SIZE;
        let mut swapped = enc[..HEADER_SIZE].to_vec();
        swapped.extend_from_slice(&enc[HEADER_SIZE + c..HEADER_SIZE + 2 * c]);
        swapped.extend_from_slice(&enc[HEADER_SIZE..HEADER_SIZE + c]);
        swapped.extend_from_slice(&enc[HEADER_SIZE + 2 * c..]);
        assert_invalid(decrypt(&swapped, &key));
    }

    #[test]
    fn no_plaintext_from_a_bad_chunk_and_errors_stick() {
        let key = SecretKey::generate();
        let mut enc = encrypt(&sample(2 * CHUNK_SIZE), &key);
        enc[HEADER_SIZE + CHUNK_SIZE + TAG_SIZE + 1] ^= 0x80; // second chunk
        let mut r = DecryptingReader::new(&enc[..], &key).unwrap();
        let mut first = vec![0u8; CHUNK_SIZE];
        r.read_exact(&mut first).unwrap();
        assert_eq!(first, sample(CHUNK_SIZE));
        let mut buf = [0u8; 16];
        assert_eq!(r.read(&mut buf).unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(r.read(&mut buf).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn finish_is_required() {
        let key = SecretKey::generate();
        let mut out = Vec::new();
        {
            let mut w = EncryptingWriter::new(&mut out, &key).unwrap();
            w.write_all(&sample(CHUNK_SIZE + 5)).unwrap();
            // dropped without finish
        }
        assert_invalid(decrypt(&out, &key));
    }
}
