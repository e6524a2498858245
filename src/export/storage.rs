//! Where finished exports are kept, behind a small interface so that every instance reads the
//! exports any instance built (issue 7, "several instances").
//!
//! An export is built into a local file first ([`super::build_export`]), already encrypted, then
//! handed to the store with [`ExportStorage::publish`] under its final name (`{export_id}.zip.enc`).
//! The download, the staff preview and the purges only ever use the name: they never see a path.
//!
//! [`LocalDir`] keeps them as files in one folder (`exports.dir`, shared between instances by a
//! network file system). Another implementation (an object store) must guarantee what this one
//! does:
//!
//! - **Atomic publish.** An object is visible under its name whole or not at all: never half
//!   written, never truncated, even if the instance dies while publishing. A failed publish leaves
//!   no object under the final name.
//! - **Read after write.** Once `publish` has returned, `open` on any instance finds the object.
//!   The database row that names it is committed only after `publish` returned.
//! - **Idempotent deletes.** Deleting a missing object succeeds: two instances may purge the same
//!   export, and a purge may be retried after a crash.
//! - **Confidentiality is not the store's job.** Objects are encrypted before they are published
//!   and decrypted after they are read ([`super::open_export_from`]); the store only sees
//!   ciphertext, but it should still not be public.
//!
//! Every method blocks (file or network I/O): call them from a blocking thread when they may
//! wait long.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The store of finished, encrypted exports. Names are plain file names (`{export_id}.zip.enc`).
pub trait ExportStorage: Send + Sync {
    /// Moves the finished file at `local_file` into the store under `name`, atomically (see the
    /// module's documentation). The local file is gone afterwards, whether it succeeded or not.
    fn publish(&self, name: &str, local_file: &Path) -> io::Result<()>;

    /// Reads the object stored under `name` from its start; `NotFound` when there is none.
    fn open(&self, name: &str) -> io::Result<Box<dyn Read + Send>>;

    /// Deletes the object stored under `name`. A missing object is not an error.
    fn delete(&self, name: &str) -> io::Result<()>;
}

/// Exports kept as files in one folder (shared between instances).
///
/// `publish` renames the local file to a temporary name in the folder (copying it when it lives
/// on another file system), syncs it, then renames it to its final name: a rename within a folder
/// is atomic, so a crash never leaves a half file under the final name. Temporary names end in
/// `.tmp`; housekeeping removes those left by a crash.
#[derive(Debug, Clone)]
pub struct LocalDir {
    dir: PathBuf,
}

impl LocalDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of `name` in the folder. Names come from the database, but a name that would leave
    /// the folder (`..`, a separator) is refused all the same.
    fn path(&self, name: &str) -> io::Result<PathBuf> {
        let plain = !name.is_empty()
            && name != "."
            && name != ".."
            && !name.contains(['/', '\\', '\0'])
            && !name.ends_with(".tmp");
        if !plain {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a valid export name"));
        }
        Ok(self.dir.join(name))
    }

    fn staging_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".{name}.{}.tmp", crate::crypto::new_id()))
    }
}

impl ExportStorage for LocalDir {
    fn publish(&self, name: &str, local_file: &Path) -> io::Result<()> {
        let path = match self.path(name) {
            Ok(path) => path,
            Err(e) => {
                let _ = fs::remove_file(local_file);
                return Err(e);
            }
        };
        let staging = self.staging_path(name);
        let result = stage(local_file, &staging).and_then(|()| fs::rename(&staging, &path));
        let _ = fs::remove_file(local_file);
        if let Err(e) = result {
            let _ = fs::remove_file(&staging);
            return Err(e);
        }
        // Make the rename durable (best effort: not every platform can sync a directory).
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(File::open(self.path(name)?)?))
    }

    fn delete(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.path(name)?) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// Puts `local_file`'s bytes at `staging` (a rename, or a copy across file systems) and syncs them.
fn stage(local_file: &Path, staging: &Path) -> io::Result<()> {
    if fs::rename(local_file, staging).is_err() {
        let mut from = File::open(local_file)?;
        let mut to = create_private(staging)?;
        io::copy(&mut from, &mut to)?;
    }
    OpenOptions::new().write(true).open(staging)?.sync_all()
}

fn create_private(path: &Path) -> io::Result<File> {
    crate::fsutil::create_private_new(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dossier-storage-{}", crate::crypto::new_id()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_local_dir_publishes_whole_files_and_deletes_idempotently() {
        let dir = folder();
        let other = folder();
        let store = LocalDir::new(&dir);

        // Built in the folder itself (a rename) and in another folder (the same or a copy).
        let local = dir.join("abc.zip.enc.building.tmp");
        fs::write(&local, b"ciphertext").unwrap();
        store.publish("abc.zip.enc", &local).unwrap();
        let elsewhere = other.join("built");
        fs::write(&elsewhere, b"more ciphertext").unwrap();
        store.publish("def.zip.enc", &elsewhere).unwrap();

        // Only the final names are left: no temporary file, no local copy.
        assert_eq!(names(&dir), ["abc.zip.enc", "def.zip.enc"]);
        assert!(names(&other).is_empty());
        let mut read = Vec::new();
        store.open("abc.zip.enc").unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, b"ciphertext");
        read.clear();
        store.open("def.zip.enc").unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, b"more ciphertext");

        // The staging name is never the final name, and is a name housekeeping sweeps.
        let staging = store.staging_path("abc.zip.enc");
        assert_ne!(staging, dir.join("abc.zip.enc"));
        assert_eq!(staging.parent(), Some(dir.as_path()));
        assert!(staging.extension().is_some_and(|e| e == "tmp"));

        // A failed publish leaves nothing under the final name.
        assert!(store.publish("ghi.zip.enc", &other.join("missing")).is_err());
        assert_eq!(names(&dir), ["abc.zip.enc", "def.zip.enc"]);

        // Deleting twice is fine; a deleted export cannot be opened.
        store.delete("abc.zip.enc").unwrap();
        store.delete("abc.zip.enc").unwrap();
        assert_eq!(store.open("abc.zip.enc").err().map(|e| e.kind()), Some(io::ErrorKind::NotFound));
        assert_eq!(names(&dir), ["def.zip.enc"]);

        // A name never leaves the folder.
        for bad in ["", "..", "../x", "a/b", "x.tmp"] {
            assert_eq!(store.open(bad).err().map(|e| e.kind()), Some(io::ErrorKind::InvalidInput), "{bad:?}");
            assert!(store.delete(bad).is_err(), "{bad:?}");
        }
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_dir_all(&other);
    }
}
