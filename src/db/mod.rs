//! Connecting to PostgreSQL as libpq (psql) does: which database (`--database-url` /
//! `DATABASE_URL`, else the `PG*` variables, else the local cluster under `data/pg`), the
//! parameters a URL leaves out taken from `PG*` variables and the password file, unix sockets
//! without TLS, libpq's `sslmode`s over rustls for TCP, and error messages that never show the
//! password.
//!
//! libpq's rules, as implemented here:
//! - a host that is an absolute path (`host=/run/postgresql`, `%2Frun%2Fpostgresql` in a URL)
//!   is a unix-socket directory; no host at all means the default socket directory
//!   (`/var/run/postgresql`, else `/tmp`, whichever has the server's socket); a socket never
//!   uses TLS and `sslmode` does not apply to it;
//! - the user defaults to the login name, the database to the user, the port to 5432;
//! - with no password given, the password file is searched per host (`localhost` standing for
//!   the default socket directory);
//! - several hosts (`host=a,b`) are tried in order.
//!
//! One choice differs from libpq's defaults, for safety: a server reached over the network
//! (neither a socket nor a loopback address, `hostaddr` included) gets `sslmode=require` unless
//! the user says otherwise, where libpq's `prefer` would fall back to plain text.

mod conninfo;
pub mod local;
mod passfile;
mod tls;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use postgres::config::{
    ChannelBinding, Host, LoadBalanceHosts, SslMode as PgSslMode, TargetSessionAttrs,
};
use postgres::{Client, Config, NoTls};

use crate::exit::{Outcome, usage};
use conninfo::Params;

/// Database name of the local cluster.
pub const LOCAL_DBNAME: &str = "pmu";
/// Directory of the local cluster when `PMU_PGDATA` is not set.
pub const LOCAL_DIR: &str = "data/pg";
/// Seconds to wait for a server that does not answer, unless the URL says otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// libpq's default port.
const DEFAULT_PORT: u16 = 5432;
/// Where libpq looks for the server's socket when no host is given: Debian's directory, then
/// upstream's.
const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];

/// libpq's `sslmode`, all of them (`allow` is taken as `prefer`).
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
            "disable" => SslMode::Disable,
            // libpq's `allow` tries plain text then TLS; `prefer` tries them the other way
            // round, which also reaches a server that takes TLS only.
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(anyhow!(
                    "unknown sslmode {other:?} (disable, allow, prefer, require, verify-ca, verify-full)"
                ));
            }
        })
    }
}

impl SslMode {
    fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// One server to try: a socket directory or a host name, its address and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    host: Host,
    /// `hostaddr`: the address dialled instead of resolving the name.
    addr: Option<IpAddr>,
    port: u16,
    /// No host was given: the default socket directory (what `localhost` means in a password
    /// file).
    default_socket: bool,
}

impl Endpoint {
    /// Traffic that never leaves the machine: a socket, `localhost`, a loopback address.
    fn is_local(&self) -> bool {
        match (&self.host, self.addr) {
            (Host::Unix(_), _) => true,
            (_, Some(addr)) => addr.is_loopback(),
            (Host::Tcp(name), None) => {
                name.eq_ignore_ascii_case("localhost")
                    || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
        }
    }

    /// `/run/postgresql/.s.PGSQL.5432` or `db.example:5432`.
    fn address(&self) -> String {
        match (&self.host, self.addr) {
            (Host::Unix(dir), _) => format!("{}/.s.PGSQL.{}", dir.display(), self.port),
            (Host::Tcp(name), Some(addr)) if name != &addr.to_string() => {
                format!("{name} ({addr}) port {}", self.port)
            }
            (Host::Tcp(name), _) if name.contains(':') => format!("[{name}]:{}", self.port),
            (Host::Tcp(name), _) => format!("{name}:{}", self.port),
        }
    }

    /// The host as a password file names it.
    fn passfile_host(&self) -> String {
        match &self.host {
            _ if self.default_socket => "localhost".to_string(),
            // libpq: a host that names the default socket directory is `localhost` there too.
            Host::Unix(dir) if DEFAULT_SOCKET_DIRS.iter().any(|d| dir == Path::new(d)) => {
                "localhost".to_string()
            }
            Host::Unix(dir) => dir.display().to_string(),
            Host::Tcp(name) => name.clone(),
        }
    }
}

/// A parsed, validated connection target. Its `Display` never shows the password.
#[derive(Clone)]
pub struct Target {
    endpoints: Vec<Endpoint>,
    user: String,
    dbname: String,
    /// Given in the URL, the key/value string or `PGPASSWORD`; else the password file's.
    password: Option<String>,
    passfile: Option<PathBuf>,
    /// `sslmode` as given; `None` chooses per endpoint (see the module doc).
    ssl: Option<SslMode>,
    root_cert: Option<PathBuf>,
    /// Everything else (timeouts, options, application name…), hosts and TLS left out.
    base: Config,
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
        let hosts: Vec<String> = self
            .endpoints
            .iter()
            .map(|e| match &e.host {
                Host::Tcp(name) => format!("{name}:{}", e.port),
                Host::Unix(path) => format!("{}:{}", path.display(), e.port),
            })
            .collect();
        write!(f, "{}@{}/{}", self.user, hosts.join(","), self.dbname)?;
        if let Some(mode) = self.ssl {
            write!(f, " (sslmode={})", mode.name())?;
        }
        Ok(())
    }
}

impl Target {
    /// Parses a URL (`postgres://user:pass@host:port/db?sslmode=require`) or a libpq key/value
    /// string (`host=… dbname=…`), taking nothing from the environment. The error (a usage
    /// error) never quotes the password.
    pub fn parse(conn: &str) -> Result<Target> {
        Target::resolve(Some(conn), &|_| None)
    }

    /// The target of `conn` (when given) with what it leaves out taken from the `PG*`
    /// variables `var` gives, as libpq does; without `conn`, the variables alone.
    pub fn resolve(conn: Option<&str>, var: &dyn Fn(&str) -> Option<String>) -> Result<Target> {
        let mut secrets = conn.map(conninfo::password_spellings).unwrap_or_default();
        secrets.extend(var("PGPASSWORD").filter(|p| !p.is_empty()));
        let what = if conn.is_some() {
            "invalid database URL"
        } else {
            "invalid PG* variables"
        };
        let build = || -> Result<Target> {
            let mut params = match conn {
                Some(conn) => Params::parse(conn)?,
                None => Params::default(),
            };
            params.fill_from_env(var)?;
            Target::from_params(&params, secrets.clone())
        };
        build().map_err(|e| usage(scrub(&format!("{what}: {e:#}"), &secrets)))
    }

    fn from_params(p: &Params, secrets: Vec<String>) -> Result<Target> {
        let user = match p.get("user") {
            Some(user) => user.to_string(),
            None => login_name()?,
        };
        let dbname = p.get("dbname").unwrap_or(&user).to_string();
        let ssl = p
            .get("sslmode")
            .map(str::parse)
            .transpose()?
            .or_else(|| (p.get("requiressl") == Some("1")).then_some(SslMode::Require));
        // libpq: `sslrootcert=system` means the system's roots and, unless said otherwise,
        // `verify-full`; without `sslrootcert`, `~/.postgresql/root.crt` when it exists.
        let system_roots = p.get("sslrootcert") == Some("system");
        let ssl = ssl.or(system_roots.then_some(SslMode::VerifyFull));
        let root_cert = match p.get("sslrootcert") {
            Some("system") => None,
            Some(file) => Some(PathBuf::from(file)),
            None => default_root_cert(),
        };
        Ok(Target {
            endpoints: endpoints(p)?,
            user,
            dbname,
            password: p.get("password").map(str::to_string),
            passfile: passfile::path(p.get("passfile")),
            ssl,
            root_cert,
            base: base_config(p)?,
            secrets,
        })
    }

    /// The `sslmode` asked for; `None` when it was left to the default.
    pub fn ssl_mode(&self) -> Option<SslMode> {
        self.ssl
    }

    /// The TLS rule for one server: never on a socket; as asked; else `prefer` on this machine
    /// and `require` over the network.
    fn ssl_for(&self, endpoint: &Endpoint) -> SslMode {
        match (&endpoint.host, self.ssl) {
            (Host::Unix(_), _) => SslMode::Disable,
            (_, Some(mode)) => mode,
            _ if endpoint.is_local() => SslMode::Prefer,
            _ => SslMode::Require,
        }
    }

    /// Connects to the first server that answers, with TLS as `sslmode` asks. The error is one
    /// line naming the target and why each server failed, without the password.
    pub fn connect(&self) -> Result<Client> {
        let mut failures = Vec::new();
        for endpoint in &self.endpoints {
            match self.connect_to(endpoint) {
                Ok(client) => return Ok(client),
                Err(e) => failures.push(e),
            }
        }
        Err(anyhow!(
            "{}",
            self.scrub(&format!(
                "cannot connect to PostgreSQL at {self}: {}",
                failures.join("; ")
            ))
        ))
    }

    fn connect_to(&self, endpoint: &Endpoint) -> std::result::Result<Client, String> {
        let mut config = self.base.clone();
        config
            .user(&self.user)
            .dbname(&self.dbname)
            .port(endpoint.port);
        match &endpoint.host {
            Host::Tcp(name) => config.host(name),
            Host::Unix(dir) => config.host_path(dir),
        };
        if let Some(addr) = endpoint.addr {
            config.hostaddr(addr);
        }
        if let Some(password) = self
            .password
            .clone()
            .or_else(|| self.passfile_password(endpoint))
        {
            config.password(password);
        }
        let mode = self.ssl_for(endpoint);
        config.ssl_mode(match mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            _ => PgSslMode::Require,
        });
        let result = match mode {
            SslMode::Disable => config.connect(NoTls),
            mode => {
                let tls = tls::connector(mode, self.root_cert.as_deref())
                    .map_err(|e| format!("{e:#}"))?;
                config.connect(tls)
            }
        };
        result.map_err(|e| describe(&e, endpoint))
    }

    fn passfile_password(&self, endpoint: &Endpoint) -> Option<String> {
        let file = self.passfile.as_deref()?;
        let host = endpoint.passfile_host();
        passfile::find(
            file,
            passfile::Lookup {
                host: &host,
                port: endpoint.port,
                dbname: &self.dbname,
                user: &self.user,
            },
        )
    }

    /// Removes the password from a message about this target.
    pub fn scrub(&self, message: &str) -> String {
        let mut secrets = self.secrets.clone();
        secrets.extend(self.password.clone());
        scrub(message, &secrets)
    }
}

/// The servers `host`, `hostaddr` and `port` name, as libpq pairs them: one port for all or
/// one per host; `hostaddr` one per host; no host at all, the default socket directory.
fn endpoints(p: &Params) -> Result<Vec<Endpoint>> {
    let list = |key: &str| -> Vec<String> {
        p.get(key)
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default()
    };
    let addrs = list("hostaddr");
    let mut hosts = list("host");
    if hosts.is_empty() {
        hosts = vec![String::new(); addrs.len().max(1)];
    }
    if !addrs.is_empty() && addrs.len() != hosts.len() {
        return Err(anyhow!(
            "{} hostaddr values for {} hosts",
            addrs.len(),
            hosts.len()
        ));
    }
    let ports = list("port");
    if ports.len() > 1 && ports.len() != hosts.len() {
        return Err(anyhow!("{} ports for {} hosts", ports.len(), hosts.len()));
    }
    hosts
        .into_iter()
        .enumerate()
        .map(|(i, host)| {
            let port = match ports.get(if ports.len() == 1 { 0 } else { i }) {
                Some(p) if !p.is_empty() => p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| anyhow!("invalid port {p:?}"))?,
                _ => DEFAULT_PORT,
            };
            let addr = match addrs.get(i).filter(|a| !a.is_empty()) {
                Some(a) => Some(
                    a.parse::<IpAddr>()
                        .map_err(|_| anyhow!("invalid hostaddr {a:?}"))?,
                ),
                None => None,
            };
            Ok(endpoint(host, addr, port))
        })
        .collect()
}

fn endpoint(host: String, addr: Option<IpAddr>, port: u16) -> Endpoint {
    let (host, default_socket) = if host.starts_with('/') {
        (Host::Unix(PathBuf::from(host)), false)
    } else if !host.is_empty() {
        (Host::Tcp(host), false)
    } else if let Some(addr) = addr {
        (Host::Tcp(addr.to_string()), false)
    } else {
        (Host::Unix(default_socket_dir(port)), true)
    };
    Endpoint {
        host,
        addr,
        port,
        default_socket,
    }
}

/// The first default socket directory holding the server's socket, else the first that exists.
fn default_socket_dir(port: u16) -> PathBuf {
    let dirs = DEFAULT_SOCKET_DIRS.map(Path::new);
    dirs.iter()
        .find(|d| d.join(format!(".s.PGSQL.{port}")).exists())
        .or_else(|| dirs.iter().find(|d| d.is_dir()))
        .unwrap_or(&dirs[0])
        .to_path_buf()
}

/// libpq's default root certificate, `~/.postgresql/root.crt`, when it exists.
fn default_root_cert() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    let file = PathBuf::from(home).join(".postgresql/root.crt");
    file.is_file().then_some(file)
}

/// The settings that do not depend on the server: timeouts, options, application name…
fn base_config(p: &Params) -> Result<Config> {
    let mut config = Config::new();
    let seconds = |key: &str| -> Result<Option<Duration>> {
        p.get(key)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| anyhow!("invalid {key} {v:?} (whole seconds)"))
            })
            .transpose()
    };
    // libpq: 0 waits forever, and less than 2 seconds is taken as 2.
    config.connect_timeout(match seconds("connect_timeout")? {
        None => DEFAULT_CONNECT_TIMEOUT,
        Some(d) if d.is_zero() => Duration::from_secs(u64::from(u32::MAX)),
        Some(d) => d.max(Duration::from_secs(2)),
    });
    config.application_name(
        p.get("application_name")
            .or(p.get("fallback_application_name"))
            .unwrap_or("pmu-lake"),
    );
    if let Some(options) = p.get("options") {
        config.options(options);
    }
    if let Some(v) = p.get("keepalives") {
        config.keepalives(v != "0");
    }
    if let Some(d) = seconds("keepalives_idle")? {
        config.keepalives_idle(d);
    }
    if let Some(d) = seconds("keepalives_interval")? {
        config.keepalives_interval(d);
    }
    if let Some(v) = p.get("keepalives_count") {
        config.keepalives_retries(
            v.parse()
                .map_err(|_| anyhow!("invalid keepalives_count {v:?}"))?,
        );
    }
    if let Some(v) = p.get("tcp_user_timeout") {
        let ms: u64 = v
            .parse()
            .map_err(|_| anyhow!("invalid tcp_user_timeout {v:?} (milliseconds)"))?;
        config.tcp_user_timeout(Duration::from_millis(ms));
    }
    if let Some(v) = p.get("target_session_attrs") {
        config.target_session_attrs(match v {
            "any" => TargetSessionAttrs::Any,
            "read-write" => TargetSessionAttrs::ReadWrite,
            "read-only" => TargetSessionAttrs::ReadOnly,
            other => return Err(anyhow!("target_session_attrs {other:?} is not supported")),
        });
    }
    if let Some(v) = p.get("channel_binding") {
        config.channel_binding(match v {
            "disable" => ChannelBinding::Disable,
            "prefer" => ChannelBinding::Prefer,
            "require" => ChannelBinding::Require,
            other => return Err(anyhow!("invalid channel_binding {other:?}")),
        });
    }
    if let Some(v) = p.get("load_balance_hosts") {
        config.load_balance_hosts(match v {
            "disable" => LoadBalanceHosts::Disable,
            "random" => LoadBalanceHosts::Random,
            other => return Err(anyhow!("invalid load_balance_hosts {other:?}")),
        });
    }
    Ok(config)
}

/// The login name of the effective user, libpq's default user: `/etc/passwd`, else `$USER`.
fn login_name() -> Result<String> {
    let uid = local::effective_uid().ok();
    let from_passwd = uid.and_then(|uid| {
        local::passwd_users()
            .ok()?
            .into_iter()
            .find_map(|(name, u, _)| (u == uid).then_some(name))
    });
    from_passwd
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .ok_or_else(|| anyhow!("no user name given and none found for this process"))
}

/// One server's failure, in words: a socket or port nobody listens on says so.
fn describe(err: &postgres::Error, endpoint: &Endpoint) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            )
        {
            return format!(
                "no PostgreSQL server is listening on {}",
                endpoint.address()
            );
        }
        source = e.source();
    }
    let cause = std::error::Error::source(err).map(|c| format!(": {c}"));
    format!("{}{}", err, cause.unwrap_or_default())
        .trim_end()
        .to_string()
}

fn scrub(message: &str, secrets: &[String]) -> String {
    let mut secrets: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = message.to_string();
    for secret in secrets {
        out = out.replace(secret.as_str(), "***");
    }
    out
}

/// Where the database of `load`, `migrate` and `update` is.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `--database-url` / `DATABASE_URL`: a URL or a key/value string.
    pub url: Option<String>,
    /// Directory of the local cluster used when nothing names a database.
    pub local_dir: Option<PathBuf>,
}

impl Settings {
    /// The user's own database, when the URL or any `PG*` variable names one: parsed and
    /// validated (a usage error when bad), not connected to. `None`: the local cluster's turn.
    pub fn configured(&self) -> Option<Result<Target>> {
        let var = |name: &str| std::env::var(name).ok();
        if let Some(url) = self.url.as_deref().filter(|u| !u.trim().is_empty()) {
            return Some(Target::resolve(Some(url), &var));
        }
        if conninfo::env_vars().any(|name| var(name).is_some_and(|v| !v.is_empty())) {
            return Some(Target::resolve(None, &var));
        }
        None
    }

    /// The target: the URL with `PG*` variables filling what it leaves out; else the `PG*`
    /// variables alone when any is set; else the local cluster (created and started on demand).
    pub fn resolve(&self) -> Result<Target> {
        if let Some(target) = self.configured() {
            return target;
        }
        let dir = self.local_dir.clone().unwrap_or_else(local_dir);
        let cluster = local::Cluster::new(&dir, local::DEFAULT_PORT)?;
        eprintln!(
            "pmu-lake: no DATABASE_URL or PG* variables: using the local cluster in {}",
            cluster.dir().display()
        );
        cluster.ensure_running(&local::Settings::default())?;
        cluster.create_database(LOCAL_DBNAME)?;
        Target::parse(&cluster.url(LOCAL_DBNAME))
    }
}

impl Settings {
    /// The target when one is configured: the URL, the `PG*` variables, or the local cluster
    /// when it is already running; `None` otherwise. Nothing is created or started (for
    /// commands that only look, such as `status` and `verify`).
    pub fn resolve_configured(&self) -> Result<Option<Target>> {
        if let Some(target) = self.configured() {
            return target.map(Some);
        }
        let dir = self.local_dir.clone().unwrap_or_else(local_dir);
        if !dir.join("postmaster.pid").is_file() {
            return Ok(None);
        }
        let cluster = local::Cluster::new(&dir, local::DEFAULT_PORT)?;
        if !cluster.is_running() {
            return Ok(None);
        }
        Target::parse(&cluster.url(LOCAL_DBNAME)).map(Some)
    }
}

/// `PMU_PGDATA`, else `data/pg`.
pub fn local_dir() -> PathBuf {
    std::env::var_os("PMU_PGDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(LOCAL_DIR))
}

/// What `pmu-lake db` does with the local cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalAction {
    /// Create the cluster if needed, start it, print its URL.
    Start,
    Stop,
    /// Print its URL.
    Url,
}

/// `pmu-lake db start|stop|url`.
pub fn local_command(action: LocalAction, dir: &Path) -> Result<Outcome> {
    let cluster = local::Cluster::new(dir, local::DEFAULT_PORT)
        .with_context(|| format!("local cluster in {}", dir.display()))?;
    match action {
        LocalAction::Start => {
            cluster.ensure_running(&local::Settings::default())?;
            cluster.create_database(LOCAL_DBNAME)?;
            crate::exit::say(cluster.url(LOCAL_DBNAME))?;
        }
        LocalAction::Stop => {
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
        LocalAction::Url => crate::exit::say(cluster.url(LOCAL_DBNAME))?,
    }
    Ok(Outcome::Complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn resolve(conn: Option<&str>, vars: &'static [(&'static str, &'static str)]) -> Target {
        Target::resolve(conn, &env(vars)).unwrap()
    }

    #[test]
    fn sockets_never_use_tls_and_remote_servers_get_it_by_default() {
        let modes = |conn: &str| {
            let t = Target::parse(conn).unwrap();
            t.endpoints.iter().map(|e| t.ssl_for(e)).collect::<Vec<_>>()
        };
        use SslMode::*;
        assert_eq!(
            modes("postgresql:///pmu?host=/tmp/pgA&sslmode=verify-full"),
            [Disable]
        );
        assert_eq!(modes("host=/tmp/pgA user=postgres"), [Disable]);
        assert_eq!(modes("postgresql:///pmu"), [Disable]);
        assert_eq!(modes("postgres://u@db.example/pmu"), [Require]);
        assert_eq!(modes("postgres://u@10.1.2.3:5432/pmu"), [Require]);
        assert_eq!(
            modes("postgres://u@db.example/pmu?sslmode=disable"),
            [Disable]
        );
        assert_eq!(
            modes("postgres://u@localhost,[::1],127.0.0.1/pmu"),
            [Prefer; 3]
        );
        // hostaddr is what is dialled: it decides what "local" means.
        assert_eq!(modes("host=db.example hostaddr=127.0.0.1"), [Prefer]);
        assert_eq!(modes("host=localhost hostaddr=10.0.0.5"), [Require]);
        assert_eq!(
            modes("postgres://u@%2Frun%2Fpg,db.example/pmu"),
            [Disable, Require]
        );
    }

    #[test]
    fn targets_take_libpq_defaults() {
        let t = resolve(Some("postgresql://"), &[("PGUSER", "loader")]);
        assert_eq!((t.user.as_str(), t.dbname.as_str()), ("loader", "loader"));
        assert_eq!(t.endpoints.len(), 1);
        assert!(t.endpoints[0].default_socket);
        assert_eq!(t.endpoints[0].port, 5432);
        assert_eq!(t.endpoints[0].passfile_host(), "localhost");
        let t = resolve(None, &[("PGHOST", "/var/run/postgresql")]);
        assert_eq!(t.endpoints[0].passfile_host(), "localhost");
        let t = Target::parse("host=db.example sslrootcert=system").unwrap();
        assert_eq!(t.ssl, Some(SslMode::VerifyFull));
        assert_eq!(t.root_cert, None);

        let t = resolve(
            None,
            &[
                ("PGHOST", "/tmp/pg"),
                ("PGPORT", "5433"),
                ("PGDATABASE", "pmu"),
            ],
        );
        assert_eq!(t.endpoints[0].host, Host::Unix("/tmp/pg".into()));
        assert_eq!(t.endpoints[0].port, 5433);
        assert_eq!(t.endpoints[0].passfile_host(), "/tmp/pg");
        assert_eq!(t.endpoints[0].address(), "/tmp/pg/.s.PGSQL.5433");
        assert_eq!(t.dbname, "pmu");

        let t = Target::parse("postgres://u@a:1,b,c:3/d").unwrap();
        let ports: Vec<u16> = t.endpoints.iter().map(|e| e.port).collect();
        assert_eq!(ports, [1, 5432, 3]);
        assert_eq!(t.to_string(), "u@a:1,b:5432,c:3/d");
    }

    #[test]
    fn a_url_is_completed_by_the_environment() {
        let t = resolve(
            Some("postgresql://db.example/pmu"),
            &[
                ("PGUSER", "loader"),
                ("PGPORT", "6432"),
                ("PGPASSWORD", "s3cret"),
                ("PGSSLMODE", "verify-full"),
            ],
        );
        assert_eq!(t.user, "loader");
        assert_eq!(t.endpoints[0].port, 6432);
        assert_eq!(t.password.as_deref(), Some("s3cret"));
        assert_eq!(t.ssl, Some(SslMode::VerifyFull));
        assert_eq!(t.scrub("pw s3cret"), "pw ***");
        assert_eq!(
            t.to_string(),
            "loader@db.example:6432/pmu (sslmode=verify-full)"
        );
    }

    #[test]
    fn bad_input_is_a_usage_error_that_never_shows_the_password() {
        for bad in [
            "postgres://app:hunter2@db:notaport/pmu",
            "postgres://app:hunter2@db:0/pmu",
            "postgres://app:hunter2@db/pmu?sslmode=sometimes",
            "postgres://app:hunter2@db/pmu?bogus=1",
            "postgres://app:hunter2@db/pmu?connect_timeout=soon",
            "mysql://app:hunter2@db/pmu",
            "host=db password=hunter2 port=x",
            "host=db password='hunter2",
            "hunter2",
        ] {
            let err = Target::parse(bad).unwrap_err();
            let text = format!("{err:#}");
            assert!(!text.contains("hunter2"), "{bad} → {text}");
            assert!(text.starts_with("invalid database URL"), "{text}");
            assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE, "{bad}");
        }
        let err =
            Target::resolve(None, &env(&[("PGPORT", "x"), ("PGPASSWORD", "hunter2")])).unwrap_err();
        assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
        assert!(format!("{err:#}").starts_with("invalid PG* variables: invalid port"));
    }

    #[test]
    fn unreachable_servers_are_named() {
        let t = Target::parse("host=/nonexistent/pmu-lake port=5999 user=u dbname=d").unwrap();
        let err = format!("{:#}", t.connect().err().expect("no server there"));
        assert!(
            err.ends_with(
                "no PostgreSQL server is listening on /nonexistent/pmu-lake/.s.PGSQL.5999"
            ),
            "{err}"
        );
    }
}
