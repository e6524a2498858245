//! A streaming ZIP writer that records, for every entry, its size and SHA-256 (for the manifest),
//! and for the whole archive its size and SHA-256.

use std::io::{self, Write};

use anyhow::Context;
use sha2::{Digest, Sha256};
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

use crate::crypto::hex;

const ENTRY_BUFFER: usize = 64 * 1024;

/// Counts and hashes every byte that goes through it.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, hasher: Sha256::new(), bytes: 0 }
    }

    /// The inner writer, the byte count and the SHA-256 (hex).
    pub fn into_parts(self) -> (W, u64, String) {
        (self.inner, self.bytes, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A file written to the archive, as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

struct Current {
    path: String,
    hasher: Sha256,
    bytes: u64,
}

/// The archive being written. `Write` goes to the entry opened by [`ZipOut::start`].
pub struct ZipOut<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    mtime: zip::DateTime,
    files: Vec<WrittenFile>,
    current: Option<Current>,
    buf: Vec<u8>,
}

impl<W: Write> ZipOut<W> {
    pub fn new(inner: W, mtime: zip::DateTime) -> Self {
        Self {
            zip: ZipWriter::new_stream(inner),
            mtime,
            files: Vec::new(),
            current: None,
            buf: Vec::with_capacity(ENTRY_BUFFER),
        }
    }

    /// Opens a new entry (closing the previous one). `large` allows it to exceed 4 GiB (ZIP64).
    pub fn start(&mut self, path: &str, large: bool) -> anyhow::Result<()> {
        self.end()?;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(6))
            .last_modified_time(self.mtime)
            .unix_permissions(0o644)
            .large_file(large);
        self.zip.start_file(path, options).with_context(|| format!("adding {path} to the archive"))?;
        self.current = Some(Current { path: path.to_owned(), hasher: Sha256::new(), bytes: 0 });
        Ok(())
    }

    fn drain(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let Some(cur) = self.current.as_mut() else {
            return Err(io::Error::other("no archive entry is open"));
        };
        cur.hasher.update(&self.buf);
        cur.bytes += self.buf.len() as u64;
        self.zip.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Closes the open entry, if any, and records it.
    pub fn end(&mut self) -> anyhow::Result<()> {
        self.drain().context("writing to the archive")?;
        if let Some(cur) = self.current.take() {
            self.files.push(WrittenFile { path: cur.path, bytes: cur.bytes, sha256: hex(&cur.hasher.finalize()) });
        }
        Ok(())
    }

    /// Every entry closed so far, in order.
    pub fn files(&self) -> &[WrittenFile] {
        &self.files
    }

    /// Writes the central directory and returns the inner writer.
    pub fn finish(mut self) -> anyhow::Result<W> {
        self.end()?;
        let stream = self.zip.finish().context("finishing the archive")?;
        Ok(stream.into_inner())
    }
}

impl<W: Write> Write for ZipOut<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.current.is_none() {
            return Err(io::Error::other("no archive entry is open"));
        }
        if self.buf.len() + data.len() > ENTRY_BUFFER {
            self.drain()?;
            if data.len() >= ENTRY_BUFFER {
                let cur = self.current.as_mut().ok_or_else(|| io::Error::other("no archive entry is open"))?;
                cur.hasher.update(data);
                cur.bytes += data.len() as u64;
                self.zip.write_all(data)?;
                return Ok(data.len());
            }
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Entries are flushed when closed; flushing the deflate stream early would only hurt
        // compression.
        Ok(())
    }
}
