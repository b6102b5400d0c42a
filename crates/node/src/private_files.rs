//! The data dir is private to its user: the dir and every dir below it 0700, every file 0600.
//!
//! Checked (and repaired, with a warning naming each path) at every start, before the store is
//! opened; SQLite gives `-wal` and `-shm` the mode of `cortex.db`, which is created 0600 here.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::Error;

/// Mode of the data dir and of every dir inside it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file inside the data dir.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` 0700 when missing, then repairs every looser mode inside it (symlinks are
/// neither followed nor changed); returns one warning per repaired path, already logged.
pub fn secure_data_dir(dir: &Path) -> Result<Vec<String>, Error> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|e| Error::io("cannot create data dir", dir, e))?;
    }
    let mut warnings = Vec::new();
    repair(dir, &mut warnings)?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    Ok(warnings)
}

fn repair(path: &Path, warnings: &mut Vec<String>) -> Result<(), Error> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io("cannot inspect", path, e))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Ok(());
    }
    let want = if kind.is_dir() { DIR_MODE } else { FILE_MODE };
    let mode = meta.permissions().mode() & 0o777;
    if mode & !want != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & want))
            .map_err(|e| Error::io("cannot restrict the permissions of", path, e))?;
        warnings.push(format!(
            "{} was mode {mode:04o}, readable by other users of this machine; set to {:04o}",
            path.display(),
            mode & want
        ));
    }
    if kind.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| Error::io("cannot list", path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot list", path, e))?;
            repair(&entry.path(), warnings)?;
        }
    }
    Ok(())
}

/// Creates `path` empty with mode 0600 unless it exists (an existing file is never touched), so
/// that whatever later writes it, and SQLite's `-wal`/`-shm` beside it, start private.
pub fn create_private_file(path: &Path) -> Result<(), Error> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("cannot create", path, e)),
    }
}

/// Writes `bytes` to `path` through a temp file and rename, with the given mode.
pub fn write_file_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create dir", dir, e))?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("cannot write", path, e)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_missing_dir_is_created_private_without_warnings() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        assert_eq!(secure_data_dir(&dir).unwrap(), Vec::<String>::new());
        assert_eq!(mode(&dir), DIR_MODE);
    }

    #[test]
    fn loose_modes_are_repaired_and_named() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let sub = dir.join("secrets");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o750)).unwrap();
        let files = [
            dir.join("cortex.db"),
            dir.join("cortex.db-wal"),
            sub.join("group-seed"),
        ];
        for f in &files {
            std::fs::write(f, b"x").unwrap();
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let private = dir.join("control.token");
        std::fs::write(&private, b"x").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o400)).unwrap();
        // A link is neither followed nor changed.
        let outside = root.path().join("outside");
        std::fs::write(&outside, b"x").unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();

        let warnings = secure_data_dir(&dir).unwrap();
        assert_eq!(warnings.len(), 5, "{warnings:#?}");
        for p in files.iter().chain([&dir, &sub]) {
            assert!(
                warnings
                    .iter()
                    .any(|w| w.starts_with(&p.display().to_string())),
                "{} named in {warnings:#?}",
                p.display()
            );
        }
        assert!(warnings
            .iter()
            .any(|w| w.contains("0644") && w.contains("0600")));
        assert_eq!((mode(&dir), mode(&sub)), (DIR_MODE, DIR_MODE));
        for f in &files {
            assert_eq!(mode(f), FILE_MODE, "{}", f.display());
        }
        assert_eq!(mode(&private), 0o400, "a stricter mode is kept");
        assert_eq!(mode(&outside), 0o644, "the link's target is not ours");
        assert_eq!(
            secure_data_dir(&dir).unwrap(),
            Vec::<String>::new(),
            "repaired once"
        );
    }

    #[test]
    fn a_private_file_is_created_once_and_never_truncated() {
        let root = tempfile::tempdir().unwrap();
        let f = root.path().join("cortex.db");
        create_private_file(&f).unwrap();
        assert_eq!(mode(&f), FILE_MODE);
        std::fs::write(&f, b"data").unwrap();
        create_private_file(&f).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"data");
    }
}
