//! libpq's password file (`~/.pgpass`, or `passfile` / `PGPASSFILE`): lines of
//! `hostname:port:database:username:password`, `*` matching anything, `\:` and `\\` escaped, `#`
//! starting a comment; the first matching line wins. As libpq does, a file that is not a plain
//! file, or that the group or others can read, is ignored with a warning, and `localhost`
//! matches the default socket directory.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What a password file is searched for.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    /// The host as the user wrote it (a name, an address or a socket directory); `localhost`
    /// for the default socket directory.
    pub host: &'a str,
    pub port: u16,
    pub dbname: &'a str,
    pub user: &'a str,
}

/// The password file to read: `passfile`/`PGPASSFILE` when given, else `$HOME/.pgpass`.
pub fn path(given: Option<&str>) -> Option<PathBuf> {
    match given {
        Some(p) => Some(PathBuf::from(p)),
        None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".pgpass")),
    }
}

/// The password `file` gives for `lookup`, if any. Warnings go to stderr, as libpq's do.
pub fn find(file: &Path, lookup: Lookup<'_>) -> Option<String> {
    let meta = fs::metadata(file).ok()?;
    if !meta.is_file() {
        eprintln!(
            "pmu-lake: warning: password file {} is not a plain file",
            file.display()
        );
        return None;
    }
    if meta.permissions().mode() & 0o077 != 0 {
        eprintln!(
            "pmu-lake: warning: password file {} has group or world access; permissions should \
             be u=rw (0600) or less",
            file.display()
        );
        return None;
    }
    let text = fs::read_to_string(file).ok()?;
    matching(&text, lookup)
}

/// The password of the first line of `text` that matches `lookup`.
fn matching(text: &str, lookup: Lookup<'_>) -> Option<String> {
    let port = lookup.port.to_string();
    let wanted = [lookup.host, port.as_str(), lookup.dbname, lookup.user];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .find_map(|line| {
            let fields = split_fields(line);
            if fields.len() != 5 {
                return None;
            }
            let matches = fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, value)| field == "*" || field == value);
            matches.then(|| fields[4].clone())
        })
}

/// Splits on unescaped `:`; `\x` stands for `x`.
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.trim_end_matches('\r').chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields
                .last_mut()
                .expect("fields is never empty")
                .extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("fields is never empty").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# comment line
db.example:5432:pmu:loader:first
db.example:*:*:loader:second
localhost:5432:*:postgres:on\\:socket\\\\x
/tmp/pg:5433:*:*:custom-dir
*:*:*:*:anything
";

    fn lookup<'a>(host: &'a str, port: u16, dbname: &'a str, user: &'a str) -> Lookup<'a> {
        Lookup {
            host,
            port,
            dbname,
            user,
        }
    }

    #[test]
    fn the_first_matching_line_wins_with_wildcards_and_escapes() {
        let find = |l| matching(FILE, l);
        assert_eq!(
            find(lookup("db.example", 5432, "pmu", "loader")).as_deref(),
            Some("first")
        );
        assert_eq!(
            find(lookup("db.example", 6432, "other", "loader")).as_deref(),
            Some("second")
        );
        assert_eq!(
            find(lookup("localhost", 5432, "pmu", "postgres")).as_deref(),
            Some("on:socket\\x")
        );
        assert_eq!(
            find(lookup("/tmp/pg", 5433, "pmu", "me")).as_deref(),
            Some("custom-dir")
        );
        assert_eq!(
            find(lookup("elsewhere", 1, "d", "u")).as_deref(),
            Some("anything")
        );
        assert_eq!(matching("short:line", lookup("a", 1, "b", "c")), None);
    }

    #[test]
    fn a_file_others_can_read_is_ignored() {
        let dir = std::env::temp_dir().join(format!("pmu-pgpass-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pgpass");
        fs::write(&file, "*:*:*:*:pw\n").unwrap();
        let l = lookup("h", 5432, "d", "u");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(find(&file, l), None);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(find(&file, l).as_deref(), Some("pw"));
        assert_eq!(find(&dir, l), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
