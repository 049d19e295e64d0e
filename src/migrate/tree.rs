//! A user's folder on the old server, walked one entry at a time: a stack of open folders, never
//! a list of the whole tree, so memory follows the depth, not the number of files.

use std::fs::{self, ReadDir};
use std::path::{Path, PathBuf};

/// One thing found under a user's folder.
pub enum Entry {
    /// A regular file: its path relative to the folder (`/`-separated) and on disk.
    File {
        relative: String,
        path: PathBuf,
        size: u64,
        modified_at: Option<i64>,
    },
    /// Something that is not imported, and why.
    Skipped { relative: String, why: String },
}

/// Opens a file the walk found, for reading, refusing what is not (or is no longer) a regular
/// file: a symbolic link swapped in since the walk looked is not followed (`O_NOFOLLOW`), and
/// a pipe swapped in does not block the open (`O_NONBLOCK`); the type is checked on the open
/// file itself.
pub fn open_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

pub struct Walk {
    root: PathBuf,
    stack: Vec<(ReadDir, String)>,
}

impl Walk {
    /// Walks `root`. A root that is a symbolic link or not a folder is refused (`Err` with the
    /// reason), since following it could import files from outside the old server's tree.
    pub fn new(root: &Path) -> Result<Walk, String> {
        let meta = fs::symlink_metadata(root).map_err(|e| format!("{}: {e}", root.display()))?;
        if meta.file_type().is_symlink() {
            return Err(format!("{}: a symbolic link, not followed", root.display()));
        }
        if !meta.is_dir() {
            return Err(format!("{}: not a folder", root.display()));
        }
        let top = fs::read_dir(root).map_err(|e| format!("{}: {e}", root.display()))?;
        Ok(Walk {
            root: root.to_path_buf(),
            stack: vec![(top, String::new())],
        })
    }
}

impl Iterator for Walk {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let (dir, prefix) = self.stack.last_mut()?;
            let Some(item) = dir.next() else {
                self.stack.pop();
                continue;
            };
            let prefix = prefix.clone();
            let item = match item {
                Ok(item) => item,
                Err(e) => {
                    return Some(Entry::Skipped {
                        relative: format!("{prefix}?"),
                        why: format!("cannot read the folder entry: {e}"),
                    });
                }
            };
            let Some(name) = item.file_name().to_str().map(str::to_string) else {
                return Some(Entry::Skipped {
                    relative: format!("{prefix}{}", item.file_name().to_string_lossy()),
                    why: "the name is not UTF-8".into(),
                });
            };
            let relative = format!("{prefix}{name}");
            let meta = match fs::symlink_metadata(item.path()) {
                Ok(meta) => meta,
                Err(e) => {
                    return Some(Entry::Skipped {
                        relative,
                        why: format!("cannot read: {e}"),
                    });
                }
            };
            let kind = meta.file_type();
            if kind.is_symlink() {
                return Some(Entry::Skipped {
                    relative,
                    why: "a symbolic link (not followed)".into(),
                });
            }
            if kind.is_dir() {
                match fs::read_dir(item.path()) {
                    Ok(dir) => self.stack.push((dir, format!("{relative}/"))),
                    Err(e) => {
                        return Some(Entry::Skipped {
                            relative,
                            why: format!("cannot read the folder: {e}"),
                        });
                    }
                }
                continue;
            }
            if !kind.is_file() {
                return Some(Entry::Skipped {
                    relative,
                    why: "not a regular file (a device, socket or pipe)".into(),
                });
            }
            let modified_at = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_secs()).ok());
            return Some(Entry::File {
                relative,
                path: item.path(),
                size: meta.len(),
                modified_at,
            });
        }
    }
}

impl Walk {
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_nested_folders_and_what_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("0000001");
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("index.html"), b"x").unwrap();
        fs::write(root.join("a/b/my@20file.html"), b"yy").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        for entry in Walk::new(&root).unwrap() {
            match entry {
                Entry::File { relative, size, .. } => files.push((relative, size)),
                Entry::Skipped { relative, why } => skipped.push((relative, why)),
            }
        }
        files.sort();
        assert_eq!(
            files,
            [
                ("a/b/my@20file.html".to_string(), 2),
                ("index.html".to_string(), 1)
            ]
        );
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].0, "link");
        std::os::unix::fs::symlink(&root, dir.path().join("alias")).unwrap();
        assert!(Walk::new(&dir.path().join("alias")).is_err());
        assert!(open_file(&root.join("index.html")).is_ok());
        assert!(open_file(&root.join("link")).is_err());
        assert!(open_file(&root.join("a")).is_err());
    }
}
