//! A PostgreSQL cluster of our own in a directory: `initdb` when missing (as a non-root user
//! when we run as root), unix socket in the data directory, no TCP, started with `pg_ctl`.
//! Used by `pmu-lake db`, by `load` when no database is configured, by the tests and the bench.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, anyhow, bail};

/// Port of the local cluster: it only names the socket file (`.s.PGSQL.5432`), no TCP.
pub const DEFAULT_PORT: u16 = 5432;
/// Superuser created by initdb; trusted on the unix socket.
pub const SUPERUSER: &str = "postgres";
const LOG_FILE: &str = "server.log";

/// Extra server settings written into `postgresql.conf` at initdb time.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Throwaway clusters (tests): no fsync, no synchronous commit.
    pub unsafe_fast: bool,
    /// Further `name = value` lines.
    pub extra: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bindir: PathBuf,
    /// (uid, gid) the server runs as when we are root (initdb and postgres refuse root).
    run_as: Option<(u32, u32)>,
}

impl Cluster {
    /// A cluster in `dir` (created if missing, made absolute), socket `.s.PGSQL.<port>`.
    ///
    /// As root, when the server user cannot reach `dir` (a checkout under `/root`), the cluster
    /// lives under [`ROOT_FALLBACK`] and `dir` becomes a symbolic link to it.
    pub fn new(dir: &Path, port: u16) -> Result<Cluster> {
        let run_as = if effective_uid()? == 0 {
            Some(unprivileged_user()?)
        } else {
            None
        };
        if let Some((uid, gid)) = run_as {
            relocate_if_unreachable(dir, uid, gid)?;
        }
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = fs::canonicalize(dir).with_context(|| format!("resolving {}", dir.display()))?;
        Ok(Cluster {
            dir,
            port,
            bindir: find_bindir()?,
            run_as,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The (uid, gid) owning the cluster's files when we run as root.
    pub fn run_as(&self) -> Option<(u32, u32)> {
        self.run_as
    }

    /// Directory of the server binaries (`pg_config --bindir` or the highest installed).
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// Directory of the unix socket: the data directory, unless its path is too long for a
    /// socket address (108 bytes on Linux), then a directory under /tmp named after it.
    pub fn socket_dir(&self) -> PathBuf {
        let socket = format!("{}/.s.PGSQL.{}", self.dir.display(), self.port);
        if socket.len() < 100 {
            return self.dir.clone();
        }
        let hash = crate::lake::sha256_hex(self.dir.as_os_str().as_encoded_bytes());
        std::env::temp_dir().join(format!("pmu-lake-pg-{}", &hash[..16]))
    }

    /// Creates the socket directory when it is not the data directory (/tmp may be emptied).
    fn ensure_socket_dir(&self) -> Result<()> {
        let dir = self.socket_dir();
        if dir == self.dir {
            return Ok(());
        }
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .with_context(|| format!("giving {} to uid {uid}", dir.display()))?;
        }
        Ok(())
    }

    /// URL of a database of this cluster, over its unix socket (as psql takes it too).
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@{}:{}/{dbname}",
            encode_path(&self.socket_dir()),
            self.port
        )
    }

    pub fn is_initialized(&self) -> bool {
        self.dir.join("PG_VERSION").is_file()
    }

    /// initdb (trust on the socket, UTF-8, C locale) and our settings in `postgresql.conf`.
    pub fn init(&self, settings: &Settings) -> Result<()> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&self.dir, Some(uid), Some(gid))
                .with_context(|| format!("giving {} to uid {uid}", self.dir.display()))?;
        }
        let mut initdb = self.command("initdb");
        initdb.arg("-D").arg(&self.dir).args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-instructions",
        ]);
        run(initdb, "initdb").with_context(|| match self.run_as {
            Some((uid, _)) => format!(
                "creating a PostgreSQL cluster in {} as uid {uid} (every parent directory must be \
                 searchable by that user; or choose another place with --dir / PMU_PGDATA)",
                self.dir.display()
            ),
            None => format!("creating a PostgreSQL cluster in {}", self.dir.display()),
        })?;
        let mut conf = format!(
            "\n# pmu-lake: unix socket in the data directory, no TCP\nlisten_addresses = ''\nunix_socket_directories = '{}'\nport = {}\n",
            self.socket_dir().display().to_string().replace('\'', "''"),
            self.port
        );
        if settings.unsafe_fast {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        for line in &settings.extra {
            conf.push_str(line);
            conf.push('\n');
        }
        let path = self.dir.join("postgresql.conf");
        let mut text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        text.push_str(&conf);
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    }

    /// Whether a server is running on this data directory.
    pub fn is_running(&self) -> bool {
        let mut status = self.command("pg_ctl");
        status.arg("-D").arg(&self.dir).arg("status");
        status
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) -> Result<()> {
        self.ensure_socket_dir()?;
        let mut start = self.command("pg_ctl");
        start
            .arg("-D")
            .arg(&self.dir)
            .arg("-l")
            .arg(self.dir.join(LOG_FILE))
            .args(["-w", "-t", "120", "start"]);
        run(start, "pg_ctl start")
            .map(drop)
            .map_err(|e| anyhow!("{e:#}\n{}", self.log_tail()))
    }

    /// Fast shutdown (open transactions are rolled back).
    pub fn stop(&self) -> Result<()> {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(&self.dir)
            .args(["-m", "fast", "-w", "stop"]);
        run(stop, "pg_ctl stop").map(drop)
    }

    /// initdb when missing, start when stopped.
    pub fn ensure_running(&self, settings: &Settings) -> Result<()> {
        if !self.is_initialized() {
            eprintln!(
                "pmu-lake: creating a PostgreSQL cluster in {}",
                self.dir.display()
            );
            self.init(settings)?;
        }
        if !self.is_running() {
            self.start()?;
        }
        Ok(())
    }

    /// `CREATE DATABASE` unless it exists.
    pub fn create_database(&self, name: &str) -> Result<()> {
        let target = super::Target::parse(&self.url("postgres"))?;
        let mut client = target.connect()?;
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .with_context(|| format!("looking for database {name}"))?
            .is_some();
        if !exists {
            client
                .batch_execute(&format!(
                    "CREATE DATABASE \"{}\"",
                    name.replace('"', "\"\"")
                ))
                .with_context(|| format!("creating database {name}"))?;
        }
        Ok(())
    }

    /// Pid of the postmaster, from `postmaster.pid`.
    pub fn server_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.dir.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// A command for one of the server binaries, run as the server user when we are root.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        cmd.current_dir("/").env_remove("PGDATA").env("LC_ALL", "C");
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.join(LOG_FILE)).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        format!(
            "last lines of {}:\n{tail}",
            self.dir.join(LOG_FILE).display()
        )
    }
}

/// Where clusters go when the server user cannot reach the directory asked for.
pub const ROOT_FALLBACK: &str = "/var/lib/pmu-lake";

/// Whether `uid`/`gid` may search every directory from `/` down to `dir`'s deepest existing
/// ancestor (supplementary groups are not considered).
fn reachable_by(dir: &Path, uid: u32, gid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let absolute = std::env::current_dir()
        .map(|cwd| cwd.join(dir))
        .unwrap_or_else(|_| dir.to_path_buf());
    absolute
        .ancestors()
        .skip(1)
        .filter_map(|a| fs::metadata(a).ok())
        .all(|m| {
            let mode = m.mode();
            mode & 0o001 != 0
                || (m.uid() == uid && mode & 0o100 != 0)
                || (m.gid() == gid && mode & 0o010 != 0)
        })
}

/// Makes `dir` a link to a directory under [`ROOT_FALLBACK`] when the server user cannot reach
/// it (and it is not already such a link or a cluster).
fn relocate_if_unreachable(dir: &Path, uid: u32, gid: u32) -> Result<()> {
    let is_link = fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
    if is_link || reachable_by(dir, uid, gid) || dir.join("PG_VERSION").exists() {
        return Ok(());
    }
    if dir.exists() {
        // An empty directory left by an earlier attempt goes; anything else stays.
        fs::remove_dir(dir).with_context(|| {
            format!(
                "{} is not reachable by the PostgreSQL user (uid {uid}) and not empty",
                dir.display()
            )
        })?;
    }
    let absolute = std::env::current_dir()?.join(dir);
    let hash = crate::lake::sha256_hex(absolute.as_os_str().as_encoded_bytes());
    let real = Path::new(ROOT_FALLBACK).join(format!("pg-{}", &hash[..16]));
    fs::create_dir_all(&real).with_context(|| format!("creating {}", real.display()))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::os::unix::fs::symlink(&real, dir)
        .with_context(|| format!("linking {} to {}", dir.display(), real.display()))?;
    eprintln!(
        "pmu-lake: the PostgreSQL user (uid {uid}) cannot reach {}: the cluster lives in {} (linked from there)",
        dir.display(),
        real.display()
    );
    Ok(())
}

/// Runs a command to completion; on failure the error holds its stderr.
fn run(mut cmd: Command, what: &str) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let said = if stderr.trim().is_empty() {
            stdout.trim()
        } else {
            stderr.trim()
        };
        bail!("{what} failed ({}): {said}", out.status);
    }
    Ok(out)
}

/// `pg_config --bindir`, else the highest `/usr/lib/postgresql/*/bin`, else the directory of
/// `initdb` on PATH.
pub fn find_bindir() -> Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            Some((
                e.file_name().to_str()?.parse::<u32>().ok()?,
                e.path().join("bin"),
            ))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if has_server(&dir) {
            return Ok(dir);
        }
    }
    bail!("no PostgreSQL server binaries (initdb, pg_ctl) found: install the postgresql package")
}

pub(crate) fn effective_uid() -> Result<u32> {
    let status = fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|uid| uid.parse().ok())
        .ok_or_else(|| anyhow!("no effective uid in /proc/self/status"))
}

/// The accounts of `/etc/passwd`: (name, uid, gid).
pub(crate) fn passwd_users() -> Result<Vec<(String, u32, u32)>> {
    let passwd = fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    Ok(passwd
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            let (uid, gid) = (fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?);
            Some((fields[0].to_string(), uid, gid))
        })
        .collect())
}

/// The `postgres` user (from the server package), else `nobody`.
fn unprivileged_user() -> Result<(u32, u32)> {
    let users = passwd_users()?;
    let lookup = |name: &str| {
        users
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, uid, gid)| (*uid, *gid))
    };
    lookup("postgres")
        .or_else(|| lookup("nobody"))
        .ok_or_else(|| {
            anyhow!("running as root and no `postgres` or `nobody` user to run PostgreSQL as")
        })
}

/// Percent-encodes a socket directory for the host part of a URL.
fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.display().to_string().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_directory_too_deep_for_a_socket_address_gets_a_short_socket_directory() {
        let cluster = |dir: &str| Cluster {
            dir: PathBuf::from(dir),
            port: 5432,
            bindir: PathBuf::new(),
            run_as: None,
        };
        let short = cluster("/work/main/data/pg");
        assert_eq!(short.socket_dir(), Path::new("/work/main/data/pg"));
        let deep = cluster(&format!("/home/someone/{}/data/pg", "projects/".repeat(12)));
        let socket = deep.socket_dir();
        assert!(
            socket.starts_with(std::env::temp_dir()),
            "{}",
            socket.display()
        );
        assert!(socket.display().to_string().len() + ".s.PGSQL.5432".len() < 100);
        assert_eq!(socket, deep.socket_dir(), "the same directory every time");
    }

    #[test]
    fn socket_directories_are_percent_encoded_in_urls() {
        assert_eq!(
            encode_path(Path::new("/work/main/data/pg")),
            "%2Fwork%2Fmain%2Fdata%2Fpg"
        );
        assert_eq!(encode_path(Path::new("/a b")), "%2Fa%20b");
    }
}
