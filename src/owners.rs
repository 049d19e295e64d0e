//! Who owns a file and who passlink runs as, in words an operator can act on. A permission
//! error that names only the path leaves them guessing; one that says "owned by root, mode
//! 0600, and passlink runs as passlink" says what to fix. Read from `/proc/self/status`,
//! `/etc/passwd` and `/etc/group`, so no unsafe call is needed.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The effective user id of this process.
pub fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        // real, effective, saved, filesystem
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
}

pub fn running_as_root() -> bool {
    effective_uid() == Some(0)
}

/// The name `/etc/passwd` gives `uid`, else the number.
pub fn user_name(uid: u32) -> String {
    name_in("/etc/passwd", uid).unwrap_or_else(|| uid.to_string())
}

/// The name `/etc/group` gives `gid`, else the number.
pub fn group_name(gid: u32) -> String {
    name_in("/etc/group", gid).unwrap_or_else(|| gid.to_string())
}

fn name_in(file: &str, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id_field = fields.nth(1)?;
        (id_field.parse() == Ok(id)).then(|| name.to_string())
    })
}

/// `"passlink (uid 998)"`: who this process runs as.
pub fn running_as() -> String {
    match effective_uid() {
        Some(uid) => format!("{} (uid {uid})", user_name(uid)),
        None => "an unknown user".into(),
    }
}

/// The owner of `path` (or of the nearest existing directory above it), if it can be read.
pub fn owner_of(path: &Path) -> Option<(std::path::PathBuf, u32)> {
    path.ancestors().find_map(|p| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (p.to_path_buf(), m.uid()))
    })
}

/// `"/var/lib/passlink/passlink.sqlite3 is owned by root:root, mode 0600; passlink runs as
/// passlink (uid 998)"`, describing the nearest existing path at or above `path`.
pub fn describe(path: &Path) -> String {
    let found = path
        .ancestors()
        .find_map(|p| std::fs::metadata(p).ok().map(|m| (p, m)));
    match found {
        Some((p, meta)) => format!(
            "{} is owned by {}:{}, mode {:04o}; passlink runs as {}",
            p.display(),
            user_name(meta.uid()),
            group_name(meta.gid()),
            meta.mode() & 0o7777,
            running_as()
        ),
        None => format!("passlink runs as {}", running_as()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_owner_mode_and_the_running_user() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x");
        std::fs::write(&file, "").unwrap();
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o640))
            .unwrap();
        let text = describe(&file);
        let me = user_name(effective_uid().unwrap());
        assert!(
            text.starts_with(&format!("{} is owned by {me}:", file.display()))
                && text.contains("mode 0640; passlink runs as ")
                && text.contains(&format!("{me} (uid ")),
            "{text}"
        );
        // A path that does not exist is described by the directory above it.
        let missing = dir.path().join("a/b");
        assert!(
            describe(&missing).starts_with(&format!("{} is owned by", dir.path().display())),
            "{}",
            describe(&missing)
        );
        assert_eq!(user_name(0), "root");
        assert_eq!(group_name(0), "root");
    }
}
