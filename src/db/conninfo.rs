//! libpq's connection parameters, read as libpq reads them: a URL
//! (`postgresql://user:pass@host:port,host2/db?key=value`) or a key/value string
//! (`host=/run/postgresql dbname=pmu`) gives some keywords, and every keyword it leaves out is
//! taken from its `PG*` variable (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGPASSFILE`…).
//! Defaults (the socket directory, the user name, the password file) are applied later, by
//! [`super::Target`]. Every error here is the user's input: exit code 2.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};

/// What pmu-lake does with a libpq keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Applied.
    Yes,
    /// Accepted and without effect here (GSSAPI, compression, SNI…): libpq's defaults are ours.
    Ignored,
    /// A libpq feature pmu-lake does not have: connecting without it would not be what was asked.
    Refused,
}

/// Every keyword libpq knows, its environment variable, and what pmu-lake does with it.
const KEYWORDS: &[(&str, Option<&str>, Use)] = &[
    ("host", Some("PGHOST"), Use::Yes),
    ("hostaddr", Some("PGHOSTADDR"), Use::Yes),
    ("port", Some("PGPORT"), Use::Yes),
    ("dbname", Some("PGDATABASE"), Use::Yes),
    ("user", Some("PGUSER"), Use::Yes),
    ("password", Some("PGPASSWORD"), Use::Yes),
    ("passfile", Some("PGPASSFILE"), Use::Yes),
    ("options", Some("PGOPTIONS"), Use::Yes),
    ("application_name", Some("PGAPPNAME"), Use::Yes),
    ("fallback_application_name", None, Use::Yes),
    ("connect_timeout", Some("PGCONNECT_TIMEOUT"), Use::Yes),
    ("sslmode", Some("PGSSLMODE"), Use::Yes),
    ("requiressl", Some("PGREQUIRESSL"), Use::Yes),
    ("sslrootcert", Some("PGSSLROOTCERT"), Use::Yes),
    (
        "target_session_attrs",
        Some("PGTARGETSESSIONATTRS"),
        Use::Yes,
    ),
    ("channel_binding", Some("PGCHANNELBINDING"), Use::Yes),
    ("keepalives", None, Use::Yes),
    ("keepalives_idle", None, Use::Yes),
    ("keepalives_interval", None, Use::Yes),
    ("keepalives_count", None, Use::Yes),
    ("tcp_user_timeout", None, Use::Yes),
    ("load_balance_hosts", Some("PGLOADBALANCEHOSTS"), Use::Yes),
    ("client_encoding", Some("PGCLIENTENCODING"), Use::Ignored),
    ("gssencmode", Some("PGGSSENCMODE"), Use::Ignored),
    ("krbsrvname", Some("PGKRBSRVNAME"), Use::Ignored),
    ("gsslib", Some("PGGSSLIB"), Use::Ignored),
    ("gssdelegation", Some("PGGSSDELEGATION"), Use::Ignored),
    ("sslcompression", None, Use::Ignored),
    ("sslsni", None, Use::Ignored),
    ("sslnegotiation", Some("PGSSLNEGOTIATION"), Use::Ignored),
    (
        "ssl_min_protocol_version",
        Some("PGSSLMINPROTOCOLVERSION"),
        Use::Ignored,
    ),
    (
        "ssl_max_protocol_version",
        Some("PGSSLMAXPROTOCOLVERSION"),
        Use::Ignored,
    ),
    ("sslcert", Some("PGSSLCERT"), Use::Refused),
    ("sslkey", Some("PGSSLKEY"), Use::Refused),
    ("sslpassword", None, Use::Refused),
    ("sslcertmode", Some("PGSSLCERTMODE"), Use::Refused),
    ("sslcrl", Some("PGSSLCRL"), Use::Refused),
    ("sslcrldir", Some("PGSSLCRLDIR"), Use::Refused),
    ("service", Some("PGSERVICE"), Use::Refused),
    ("requirepeer", Some("PGREQUIREPEER"), Use::Refused),
    ("require_auth", Some("PGREQUIREAUTH"), Use::Refused),
    ("replication", None, Use::Refused),
];

/// The environment variables that name a database: any of them set means the user's own
/// database, not the local cluster.
pub fn env_vars() -> impl Iterator<Item = &'static str> {
    // Refused ones too: `PGSERVICE` set is a database pmu-lake cannot reach (exit 2), never a
    // reason to fall back to the local cluster.
    KEYWORDS
        .iter()
        .filter(|(_, _, u)| *u != Use::Ignored)
        .filter_map(|(_, var, _)| *var)
}

/// libpq keywords and their values, as given (URL, key/value string) then filled from the
/// environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<&'static str, String>);

impl Params {
    /// Parses a URL or a key/value string. Nothing is taken from the environment yet.
    pub fn parse(conn: &str) -> Result<Params> {
        let conn = conn.trim();
        let pairs = if let Some(rest) = strip_scheme(conn) {
            parse_url(rest)?
        } else if let Some((scheme, _)) = conn.split_once("://") {
            bail!("{scheme}:// is not a PostgreSQL URL (postgresql://… or postgres://…)")
        } else if conn.contains('=') {
            parse_key_values(conn)?
        } else {
            bail!("expected postgresql://… or key=value pairs")
        };
        let mut params = Params::default();
        for (key, value) in pairs {
            params.set(&key, value)?;
        }
        Ok(params)
    }

    /// Fills every keyword still unset from its `PG*` variable, as libpq does.
    pub fn fill_from_env(&mut self, var: &dyn Fn(&str) -> Option<String>) -> Result<()> {
        for (keyword, env, _) in KEYWORDS {
            let Some(env) = env else { continue };
            if self.0.contains_key(keyword) {
                continue;
            }
            if let Some(value) = var(env).filter(|v| !v.is_empty()) {
                self.set(keyword, value)
                    .map_err(|e| anyhow!("{env}: {e:#}"))?;
            }
        }
        Ok(())
    }

    /// The value of `keyword`, when set and not empty (libpq treats empty as unset).
    pub fn get(&self, keyword: &str) -> Option<&str> {
        self.0
            .get(keyword)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn set(&mut self, key: &str, value: String) -> Result<()> {
        // libpq's JDBC-style `ssl=true` in URLs.
        if key == "ssl" {
            return match value.as_str() {
                "true" => self.set("sslmode", "require".into()),
                other => bail!("ssl={other:?}: only ssl=true is understood"),
            };
        }
        let Some(&(keyword, _, usage)) = KEYWORDS.iter().find(|(k, _, _)| *k == key) else {
            bail!("unknown connection option {key:?}");
        };
        if usage == Use::Refused {
            bail!("{keyword} is not supported by pmu-lake");
        }
        if usage == Use::Yes {
            self.0.insert(keyword, value);
        }
        Ok(())
    }
}

fn strip_scheme(conn: &str) -> Option<&str> {
    conn.strip_prefix("postgresql://")
        .or_else(|| conn.strip_prefix("postgres://"))
}

/// `[user[:password]@][host[:port][,…]][/dbname][?key=value&…]`, percent-decoded, as libpq's
/// URI parser: the first `@` ends the user part, a host in `[…]` is an IPv6 address, and a
/// host that decodes to an absolute path is a unix-socket directory.
fn parse_url(rest: &str) -> Result<Vec<(String, String)>> {
    // As libpq: the user part ends at the first `@` before any `/` (a `?` in a password is
    // the password's); the host list then ends at `/` or `?`.
    let (userinfo, rest) = split_userinfo(rest);
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (netloc, dbname) = rest.split_once('/').unwrap_or((rest, ""));
    let mut pairs = Vec::new();
    let hostlist = match userinfo {
        Some(userinfo) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                pairs.push(("user".to_string(), percent_decode(user)?));
            }
            if let Some(p) = password {
                pairs.push(("password".to_string(), percent_decode(p)?));
            }
            netloc
        }
        None => netloc,
    };
    if !hostlist.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for spec in hostlist.split(',') {
            let (host, port) = split_host_port(spec)?;
            hosts.push(percent_decode(host)?);
            ports.push(percent_decode(port)?);
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            pairs.push(("host".to_string(), hosts.join(",")));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            pairs.push(("port".to_string(), ports.join(",")));
        }
    }
    if !dbname.is_empty() {
        pairs.push(("dbname".to_string(), percent_decode(dbname)?));
    }
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            bail!("URL parameter {:?} has no value", percent_decode(part)?);
        };
        pairs.push((percent_decode(key)?, percent_decode(value)?));
    }
    Ok(pairs)
}

/// The user part of a URL after its scheme (up to the first `@` before any `/`), and the rest.
fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].find('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` (still percent-encoded).
fn split_host_port(spec: &str) -> Result<(&str, &str)> {
    if let Some(v6) = spec.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| anyhow!("unterminated [ in the host {spec:?}"))?;
        return match after {
            "" => Ok((addr, "")),
            _ => after
                .strip_prefix(':')
                .map(|port| (addr, port))
                .ok_or_else(|| anyhow!("unexpected {after:?} after the host [{addr}]")),
        };
    }
    Ok(spec.split_once(':').unwrap_or((spec, "")))
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
            bail!("expected `=` after {key:?}");
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
                    None => bail!("unterminated quoted value"),
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

pub(super) fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| anyhow!("bad percent escape"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| anyhow!("a percent escape is not UTF-8"))
}

/// Every way a password of `conn` may be spelled in it (raw and percent-decoded), so that no
/// message quotes it, even when `conn` does not parse.
pub fn password_spellings(conn: &str) -> Vec<String> {
    let conn = conn.trim();
    let mut found = Vec::new();
    if let Some(rest) = strip_scheme(conn) {
        // Everything between the first `:` and the last `@` before any `/`, whether or not
        // the URL parses.
        let authority = rest.split('/').next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, pass)) = userinfo.split_once(':')
        {
            found.push(pass.to_string());
        }
        if let Some((_, query)) = rest.split_once('?') {
            found.extend(
                query
                    .split('&')
                    .filter_map(|p| p.strip_prefix("password="))
                    .map(str::to_string),
            );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(conn: &str) -> Vec<(&'static str, String)> {
        Params::parse(conn).unwrap().0.into_iter().collect()
    }

    fn kv(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn urls_give_libpq_keywords() {
        assert_eq!(
            params(
                "postgresql://app:p%40ss@db.example:6432/pmu?sslmode=verify-full&connect_timeout=3"
            ),
            kv(&[
                ("connect_timeout", "3"),
                ("dbname", "pmu"),
                ("host", "db.example"),
                ("password", "p@ss"),
                ("port", "6432"),
                ("sslmode", "verify-full"),
                ("user", "app"),
            ])
        );
        assert_eq!(
            params("postgresql:///postgres?host=/tmp/pgA&user=postgres"),
            kv(&[
                ("dbname", "postgres"),
                ("host", "/tmp/pgA"),
                ("user", "postgres")
            ])
        );
        assert_eq!(
            params("postgres://postgres@%2Ftmp%2FpgA/postgres"),
            kv(&[
                ("dbname", "postgres"),
                ("host", "/tmp/pgA"),
                ("user", "postgres")
            ])
        );
        assert_eq!(params("postgresql://"), kv(&[]));
        // A `?` in a password is the password's, as libpq reads it.
        assert_eq!(
            params("postgresql://app:pa?ss@db/pmu"),
            kv(&[
                ("dbname", "pmu"),
                ("host", "db"),
                ("password", "pa?ss"),
                ("user", "app")
            ])
        );
        assert_eq!(
            params("postgresql://db?sslmode=disable"),
            kv(&[("host", "db"), ("sslmode", "disable")])
        );
        assert_eq!(
            params("postgresql://a:1,[::1]:2,c/x?ssl=true"),
            kv(&[
                ("dbname", "x"),
                ("host", "a,::1,c"),
                ("port", "1,2,"),
                ("sslmode", "require"),
            ])
        );
    }

    #[test]
    fn key_value_strings_parse_with_quotes() {
        assert_eq!(
            params("host=/tmp/pg port = 5433 dbname='my db' password='a b\\'c'"),
            kv(&[
                ("dbname", "my db"),
                ("host", "/tmp/pg"),
                ("password", "a b'c"),
                ("port", "5433"),
            ])
        );
    }

    #[test]
    fn bad_strings_are_refused_with_the_reason() {
        for (bad, why) in [
            ("mysql://u@h/d", "not a PostgreSQL URL"),
            (
                "postgres://u@h/d?bogus=1",
                "unknown connection option \"bogus\"",
            ),
            ("postgres://u@h/d?sslcert=/x", "sslcert is not supported"),
            ("postgres://u@[::1/d", "unterminated ["),
            ("host=db password='x", "unterminated quoted value"),
            ("just-a-word", "expected postgresql://"),
            ("postgres://u@h/d?sslmode", "has no value"),
        ] {
            let err = format!("{:#}", Params::parse(bad).unwrap_err());
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn the_environment_fills_only_what_the_string_leaves_out() {
        let mut p = Params::parse("postgresql:///pmu?host=/tmp/pg").unwrap();
        let env = |name: &str| match name {
            "PGHOST" => Some("db.example".to_string()),
            "PGPORT" => Some("5433".to_string()),
            "PGUSER" => Some("loader".to_string()),
            "PGPASSWORD" => Some("s3cret".to_string()),
            "PGDATABASE" => Some("other".to_string()),
            "PGAPPNAME" => Some(String::new()),
            _ => None,
        };
        p.fill_from_env(&env).unwrap();
        assert_eq!(p.get("host"), Some("/tmp/pg"));
        assert_eq!(p.get("dbname"), Some("pmu"));
        assert_eq!(p.get("port"), Some("5433"));
        assert_eq!(p.get("user"), Some("loader"));
        assert_eq!(p.get("password"), Some("s3cret"));
        assert_eq!(p.get("application_name"), None);

        let mut refused = Params::default();
        let err = refused
            .fill_from_env(&|n: &str| (n == "PGSERVICE").then(|| "prod".to_string()))
            .unwrap_err();
        assert!(format!("{err:#}").contains("PGSERVICE: service is not supported"));
    }

    #[test]
    fn passwords_are_found_in_every_spelling() {
        assert_eq!(
            password_spellings("postgres://u:p%40ss@h/d"),
            ["p%40ss", "p@ss"]
        );
        assert_eq!(password_spellings("postgres://u@h/d?password=x1"), ["x1"]);
        assert_eq!(password_spellings("host=h password='a b'"), ["a b"]);
        assert_eq!(password_spellings("postgres://u:p@ss@h/d"), ["p@ss"]);
        assert_eq!(password_spellings("host=h password='hunter2"), ["'hunter2"]);
    }
}
