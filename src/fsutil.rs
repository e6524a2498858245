//! Files and folders Dossier creates: private whatever the umask.
//!
//! Everything Dossier writes to disk holds personal data or a secret: the SQLite database
//! (addresses, notes, staff password hashes), exports, spools and uploads (encrypted, but still
//! the person's), the demo outbox (live codes and links), keys and tokens, the demo's source
//! databases. So every folder it creates is `0700` and every file `0600`, *created* that way
//! (`DirBuilder::mode`, `OpenOptions::mode`), never widened by the umask and narrowed afterwards
//! with a `chmod`, which would leave a window where another account could open the file and keep
//! its descriptor. A file renamed into place keeps the mode it was created with, so temporary
//! files go through here too.
//!
//! Invariant: no code outside this module calls `create_dir*`, `File::create`, `fs::write` or a
//! bare `OpenOptions` to make a file or folder in the data directory (grep for them). The one
//! exception is a CSV source rewritten by an erasure: its temporary file starts private here and
//! then takes the original file's permissions, which belong to the source, not to Dossier.
//!
//! SQLite creates its database with `0644` less the umask, so [`create_private_file_if_missing`]
//! makes the empty file first; SQLite gives the `-wal`, `-shm` and `-journal` files the mode of
//! the database file they belong to.
//!
//! On other platforms than Unix the modes are left to the system (ACLs of the parent folder).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::Path;

/// The mode of every folder Dossier creates: the owner alone may list, enter and write.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file Dossier creates: the owner alone may read and write.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and any missing parent, each new one private (`0700`). Folders that already
/// exist are left as they are (see [`warn_if_not_private`]).
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(dir)
}

/// Options that create private (`0600`) files for writing; the caller picks `create_new`,
/// `create` or `truncate`.
pub fn private_options() -> OpenOptions {
    let mut opts = OpenOptions::new();
    opts.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(FILE_MODE);
    }
    opts
}

/// A new private file at `path`; fails if something is already there.
pub fn create_private_new(path: &Path) -> io::Result<File> {
    private_options().create_new(true).open(path)
}

/// A private file at `path`, emptied if it exists (an existing file keeps its mode).
pub fn create_private_truncate(path: &Path) -> io::Result<File> {
    private_options().create(true).truncate(true).open(path)
}

/// Writes `bytes` to a new private file at `path` (which must not exist).
pub fn write_private_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = create_private_new(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// [`write_private_new`] for async code (the outbox, the demo).
pub async fn write_private_new_async(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut opts = tokio::fs::OpenOptions::from(private_options());
    let mut file = opts.create_new(true).open(path).await?;
    file.write_all(bytes).await?;
    file.sync_all().await
}

/// [`create_private_dir_all`] for async code.
pub async fn create_private_dir_all_async(dir: &Path) -> io::Result<()> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || create_private_dir_all(&dir)).await.map_err(io::Error::other)?
}

/// Creates an empty private file at `path` unless something is already there: for SQLite, which
/// would otherwise create the database with the umask's mode.
pub fn create_private_file_if_missing(path: &Path) -> io::Result<()> {
    match create_private_new(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The permission bits of `path` that let other accounts (group or others) in, if any.
pub fn wider_than_private(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Logs a warning when an existing `path` (`what`: "data directory", "database"…) is open to
/// other accounts. Names the path and the mode only, never what the files hold.
pub fn warn_if_not_private(path: &Path, what: &str) {
    if let Some(mode) = wider_than_private(path) {
        let wanted = if path.is_dir() { DIR_MODE } else { FILE_MODE };
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{mode:o}"),
            "the {what} is readable by other accounts on this machine (mode {mode:o}); \
             Dossier creates it {wanted:o}: run chmod {wanted:o} on it"
        );
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_created_private() {
        let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let root = std::env::temp_dir().join(format!("dossier-fsutil-{}-{unique}", std::process::id()));
        let deep = root.join("a").join("b");
        create_private_dir_all(&deep).unwrap();
        for dir in [&root, &root.join("a"), &deep] {
            assert_eq!(mode(dir), DIR_MODE, "{}", dir.display());
        }
        let file = deep.join("f");
        write_private_new(&file, b"x").unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        assert!(write_private_new(&file, b"y").is_err(), "never overwrites");
        create_private_file_if_missing(&file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"x", "an existing file is left alone");
        assert_eq!(wider_than_private(&file), None);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(wider_than_private(&file), Some(0o644));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
