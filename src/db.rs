//! Connecting to PostgreSQL: which database (`--database-url`/`DATABASE_URL`, else the standard
//! PG* variables, else the local cluster under `data/pg`), the libpq `sslmode`s over rustls, and
//! error messages that never show the password.
//!
//! tokio-postgres only knows `sslmode=disable|prefer|require` and rejects `sslrootcert`, so the
//! TLS parameters are taken out of the connection string here and applied by [`tls`].

pub mod local;
mod tls;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use postgres::config::{Host, SslMode as PgSslMode};
use postgres::{Client, Config, NoTls};

use crate::cli::{DbArgs, LocalDbAction, LocalDbArgs};
use crate::exit::Outcome;

/// Database name of the local cluster.
pub const LOCAL_DBNAME: &str = "pmu";
/// Directory of the local cluster when `PMU_PGDATA` is not set.
pub const LOCAL_DIR: &str = "data/pg";
/// Seconds to wait for a server that does not answer, unless the URL says otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// libpq's `sslmode`, all five of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain text.
    Disable,
    /// TLS when the server offers it, any certificate accepted (libpq's default).
    Prefer,
    /// TLS or nothing; the chain is checked only when `sslrootcert` is given (as libpq does).
    Require,
    /// TLS, the chain checked against `sslrootcert` (or the system roots); any host name.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<SslMode> {
        Ok(match s {
            "disable" | "allow" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(anyhow!(
                    "unknown sslmode {other:?} (disable, prefer, require, verify-ca, verify-full)"
                ));
            }
        })
    }
}

/// A parsed, validated connection target. Its `Display` never shows the password.
#[derive(Clone)]
pub struct Target {
    config: Config,
    ssl: SslMode,
    root_cert: Option<PathBuf>,
    /// Every spelling of the password that may appear in a message (raw and percent-decoded).
    secrets: Vec<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

impl fmt::Display for Target {
    /// `postgres@/work/data/pg:5432/pmu` or `app@db.example:5432/pmu (sslmode=verify-full)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = self.config.get_user().unwrap_or("");
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        let ports: Vec<String> = self.config.get_ports().iter().map(u16::to_string).collect();
        let db = self.config.get_dbname().unwrap_or("");
        write!(f, "{user}@{}", hosts.join(","))?;
        if !ports.is_empty() {
            write!(f, ":{}", ports.join(","))?;
        }
        write!(f, "/{db}")?;
        if self.ssl != SslMode::Prefer {
            write!(f, " (sslmode={})", ssl_name(self.ssl))?;
        }
        Ok(())
    }
}

fn ssl_name(mode: SslMode) -> &'static str {
    match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

impl Target {
    /// Parses a URL (`postgres://user:pass@host:port/db?sslmode=require`) or a libpq key/value
    /// string (`host=… dbname=…`). The error never quotes the input.
    pub fn parse(conn: &str) -> Result<Target> {
        let secrets = password_spellings(conn);
        parse_inner(conn, secrets.clone()).map_err(|e| {
            anyhow!(
                "{}",
                scrub(&format!("invalid database URL: {e:#}"), &secrets)
            )
        })
    }

    /// The target the standard PG* variables describe, when `PGHOST` or `PGDATABASE` is set.
    pub fn from_pg_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Target>> {
        if var("PGHOST").is_none() && var("PGDATABASE").is_none() {
            return Ok(None);
        }
        const VARS: [(&str, &str); 10] = [
            ("PGHOST", "host"),
            ("PGHOSTADDR", "hostaddr"),
            ("PGPORT", "port"),
            ("PGUSER", "user"),
            ("PGPASSWORD", "password"),
            ("PGDATABASE", "dbname"),
            ("PGSSLMODE", "sslmode"),
            ("PGSSLROOTCERT", "sslrootcert"),
            ("PGAPPNAME", "application_name"),
            ("PGCONNECT_TIMEOUT", "connect_timeout"),
        ];
        let mut pairs = Vec::new();
        for (name, key) in VARS {
            if let Some(value) = var(name).filter(|v| !v.is_empty()) {
                pairs.push((key.to_string(), value));
            }
        }
        let secrets: Vec<String> = var("PGPASSWORD")
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        let target = build(pairs, secrets.clone()).map_err(|e| {
            anyhow!(
                "{}",
                scrub(&format!("invalid PG* variables: {e:#}"), &secrets)
            )
        })?;
        Ok(Some(target))
    }

    pub fn ssl_mode(&self) -> SslMode {
        self.ssl
    }

    /// Connects, with TLS as `sslmode` asks. The error is one line naming the target, without
    /// the password.
    pub fn connect(&self) -> Result<Client> {
        let result = match self.ssl {
            SslMode::Disable => self.config.connect(NoTls).map_err(anyhow::Error::from),
            mode => tls::connector(mode, self.root_cert.as_deref())
                .and_then(|tls| self.config.connect(tls).map_err(anyhow::Error::from)),
        };
        result.map_err(|e| {
            anyhow!(
                "{}",
                self.scrub(&format!("cannot connect to PostgreSQL at {self}: {e:#}"))
            )
        })
    }

    /// Removes the password from a message about this target.
    pub fn scrub(&self, message: &str) -> String {
        scrub(message, &self.secrets)
    }
}

fn parse_inner(conn: &str, secrets: Vec<String>) -> Result<Target> {
    let conn = conn.trim();
    if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
        let (base, query) = conn.split_once('?').unwrap_or((conn, ""));
        let mut kept = Vec::new();
        let mut tls = Vec::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let key = percent_decode(k)?;
            if is_tls_key(&key) {
                tls.push((key, percent_decode(v)?));
            } else {
                kept.push(part);
            }
        }
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let config = Config::from_str(&url).map_err(config_error)?;
        finish(config, tls, secrets)
    } else if conn.contains('=') {
        build(parse_key_values(conn)?, secrets)
    } else {
        Err(anyhow!("expected postgres://… or key=value pairs"))
    }
}

/// Builds a target from libpq key/value pairs.
fn build(pairs: Vec<(String, String)>, secrets: Vec<String>) -> Result<Target> {
    let (tls, rest): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(k, _)| is_tls_key(k));
    let text: Vec<String> = rest
        .iter()
        .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect();
    let config = if text.is_empty() {
        Config::new()
    } else {
        Config::from_str(&text.join(" ")).map_err(config_error)?
    };
    finish(config, tls, secrets)
}

fn finish(mut config: Config, tls: Vec<(String, String)>, secrets: Vec<String>) -> Result<Target> {
    let mut ssl = None;
    let mut root_cert = None;
    for (key, value) in tls {
        match key.as_str() {
            "sslmode" => ssl = Some(value.parse()?),
            "sslrootcert" if value == "system" => root_cert = None,
            "sslrootcert" => root_cert = Some(PathBuf::from(value)),
            // Client certificates are not supported: say so rather than connect without one.
            _ => return Err(anyhow!("{key} is not supported")),
        }
    }
    if config.get_hosts().is_empty() {
        let default_socket = std::path::Path::new("/var/run/postgresql");
        if default_socket.is_dir() {
            config.host_path(default_socket);
        } else {
            config.host("localhost");
        }
    }
    // Without an explicit sslmode, a server reached over the network gets TLS or nothing
    // (libpq's `prefer` would fall back to plain text, passwords included); a unix socket or
    // the loopback keeps libpq's default.
    let ssl = ssl.unwrap_or_else(|| {
        if config.get_hosts().iter().all(is_local_host) {
            SslMode::Prefer
        } else {
            SslMode::Require
        }
    });
    config.ssl_mode(match ssl {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Prefer => PgSslMode::Prefer,
        _ => PgSslMode::Require,
    });
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("pmu-lake");
    }
    Ok(Target {
        config,
        ssl,
        root_cert,
        secrets,
    })
}

/// A unix socket, `localhost` or a loopback address: traffic that never leaves the machine.
fn is_local_host(host: &Host) -> bool {
    match host {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
    }
}

/// tokio-postgres says "invalid connection string" and keeps the why in its source.
fn config_error(e: postgres::Error) -> anyhow::Error {
    match std::error::Error::source(&e) {
        Some(cause) => anyhow!("{e}: {cause}"),
        None => anyhow!("{e}"),
    }
}

fn is_tls_key(key: &str) -> bool {
    matches!(
        key,
        "sslmode" | "sslrootcert" | "sslcert" | "sslkey" | "sslpassword" | "sslcrl"
    )
}

/// libpq key/value syntax: `key=value`, spaces around `=` allowed, values in single quotes with
/// backslash escapes.
fn parse_key_values(s: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(anyhow!("expected `=` after {key:?}"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.push(
                        chars
                            .next()
                            .ok_or_else(|| anyhow!("unterminated quoted value"))?,
                    ),
                    Some(c) => value.push(c),
                    None => return Err(anyhow!("unterminated quoted value")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(chars.next().ok_or_else(|| anyhow!("dangling backslash"))?);
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| anyhow!("bad percent escape"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| anyhow!("percent escape is not UTF-8"))
}

/// Every way the password of `conn` may be spelled: from `user:pass@` of a URL, a `password=`
/// query or key/value parameter; raw and decoded.
fn password_spellings(conn: &str) -> Vec<String> {
    let mut found = Vec::new();
    let conn = conn.trim();
    if let Some(rest) = conn
        .strip_prefix("postgres://")
        .or_else(|| conn.strip_prefix("postgresql://"))
    {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, pass)) = userinfo.split_once(':')
        {
            found.push(pass.to_string());
        }
        if let Some((_, query)) = rest.split_once('?') {
            for part in query.split('&') {
                if let Some(pass) = part.strip_prefix("password=") {
                    found.push(pass.to_string());
                }
            }
        }
    } else if let Ok(pairs) = parse_key_values(conn) {
        found.extend(
            pairs
                .into_iter()
                .filter(|(k, _)| k == "password")
                .map(|(_, v)| v),
        );
    } else if let Some(idx) = conn.find("password") {
        // Unparsable key/value text: hide everything after `password`.
        found.push(
            conn[idx + "password".len()..]
                .trim_start_matches([' ', '='])
                .to_string(),
        );
    }
    let decoded: Vec<String> = found
        .iter()
        .filter_map(|p| percent_decode(p).ok())
        .collect();
    found.extend(decoded);
    found.retain(|p| !p.is_empty());
    found.sort_by_key(|p| std::cmp::Reverse(p.len()));
    found.dedup();
    found
}

fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_string();
    for secret in secrets {
        out = out.replace(secret.as_str(), "***");
    }
    out
}

/// The target `load` and `migrate` use: `--database-url`/`DATABASE_URL`, else the PG*
/// variables, else the local cluster (created and started on demand).
pub fn resolve(args: &DbArgs) -> Result<Target> {
    if let Some(url) = args
        .database_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        return Target::parse(url);
    }
    if let Some(target) = Target::from_pg_env(|name| std::env::var(name).ok())? {
        return Ok(target);
    }
    let cluster = local::Cluster::new(&local_dir(), local::DEFAULT_PORT)?;
    eprintln!(
        "pmu-lake: no DATABASE_URL or PG* variables: using the local cluster in {}",
        cluster.dir().display()
    );
    cluster.ensure_running(&local::Settings::default())?;
    cluster.create_database(LOCAL_DBNAME)?;
    Target::parse(&cluster.url(LOCAL_DBNAME))
}

/// Resolves and connects in one go.
pub fn connect(args: &DbArgs) -> Result<Client> {
    resolve(args)?.connect()
}

fn local_dir() -> PathBuf {
    std::env::var_os("PMU_PGDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(LOCAL_DIR))
}

/// `pmu-lake db start|stop|url`.
pub fn local_command(args: LocalDbArgs) -> Result<Outcome> {
    let cluster = local::Cluster::new(&args.dir, local::DEFAULT_PORT)
        .with_context(|| format!("local cluster in {}", args.dir.display()))?;
    match args.action {
        LocalDbAction::Start => {
            cluster.ensure_running(&local::Settings::default())?;
            cluster.create_database(LOCAL_DBNAME)?;
            println!("{}", cluster.url(LOCAL_DBNAME));
        }
        LocalDbAction::Stop => {
            if cluster.is_running() {
                cluster.stop()?;
                eprintln!(
                    "pmu-lake: stopped the cluster in {}",
                    cluster.dir().display()
                );
            } else {
                eprintln!(
                    "pmu-lake: the cluster in {} is not running",
                    cluster.dir().display()
                );
            }
        }
        LocalDbAction::Url => println!("{}", cluster.url(LOCAL_DBNAME)),
    }
    Ok(Outcome::Complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_urls() {
        let t = Target::parse("postgres://app:s3cret@db.example:6432/pmu?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3")
            .unwrap();
        assert_eq!(t.ssl, SslMode::VerifyFull);
        assert_eq!(t.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(t.config.get_ports(), [6432]);
        assert_eq!(
            t.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        assert_eq!(
            t.to_string(),
            "app@db.example:6432/pmu (sslmode=verify-full)"
        );
    }

    #[test]
    fn key_value_strings_parse_with_quotes_and_tls_keys() {
        let t = Target::parse("host=/tmp/pg port=5433 user=postgres dbname='my db' sslmode=require password='a b\\'c'").unwrap();
        assert_eq!(t.ssl, SslMode::Require);
        assert_eq!(t.config.get_dbname(), Some("my db"));
        assert_eq!(t.config.get_password(), Some(&b"a b'c"[..]));
        assert!(
            matches!(&t.config.get_hosts()[0], Host::Unix(p) if p == std::path::Path::new("/tmp/pg"))
        );
    }

    #[test]
    fn unparsable_urls_never_show_the_password() {
        for bad in [
            "postgres://app:hunter2@db:notaport/pmu",
            "postgres://app:hunter2@db/pmu?sslmode=sometimes",
            "postgres://app:hunter2@db/pmu?bogus=1",
            "host=db password=hunter2 port=x",
            "host=db password='hunter2",
            "hunter2",
        ] {
            let err = format!("{:#}", Target::parse(bad).unwrap_err());
            assert!(!err.contains("hunter2"), "{bad} → {err}");
            assert!(err.starts_with("invalid database URL"), "{err}");
        }
    }

    #[test]
    fn remote_servers_get_tls_unless_the_url_says_otherwise() {
        let mode = |url: &str| Target::parse(url).unwrap().ssl;
        assert_eq!(mode("postgres://u@db.example/pmu"), SslMode::Require);
        assert_eq!(mode("postgres://u@10.1.2.3:5432/pmu"), SslMode::Require);
        assert_eq!(
            mode("postgres://u@db.example/pmu?sslmode=disable"),
            SslMode::Disable
        );
        assert_eq!(mode("postgres://u@localhost/pmu"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@127.0.0.1/pmu"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@[::1]/pmu"), SslMode::Prefer);
        assert_eq!(mode("host=/tmp/pg dbname=pmu"), SslMode::Prefer);
    }

    #[test]
    fn percent_encoded_passwords_are_hidden_in_both_spellings() {
        let secrets = password_spellings("postgres://u:p%40ss@h/d");
        assert_eq!(scrub("x p%40ss y p@ss", &secrets), "x *** y ***");
    }

    #[test]
    fn pg_variables_apply_only_when_host_or_database_is_set() {
        assert!(Target::from_pg_env(|_| None).unwrap().is_none());
        let vars = |name: &str| match name {
            "PGHOST" => Some("db.example".to_string()),
            "PGPASSWORD" => Some("topsecret".to_string()),
            "PGSSLMODE" => Some("verify-ca".to_string()),
            "PGUSER" => Some("loader".to_string()),
            _ => None,
        };
        let t = Target::from_pg_env(vars).unwrap().unwrap();
        assert_eq!(t.ssl, SslMode::VerifyCa);
        assert_eq!(t.config.get_user(), Some("loader"));
        assert_eq!(t.scrub("pw topsecret"), "pw ***");
    }
}
