//! Creating the server's own directories and files privately: 0700 for
//! directories, 0600 for the database file, on Unix. The data directory
//! holds the database, the media and the dev CA's key; nobody but the
//! server's user has any business reading them.
//!
//! Only what the server creates is restricted; an existing directory keeps
//! the permissions its operator gave it.

use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents with mode 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates `file` empty with mode 0600 if it does not exist yet.
pub fn create_file(file: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
