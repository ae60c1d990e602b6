//! Connecting and migrating against a real PostgreSQL: the migration runner's guarantees, TLS
//! (`require`, `verify-ca`, `verify-full`) against a cluster started with `ssl=on` and a
//! certificate made here, clear exit-1 errors that never show the password, the local cluster.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use pmu_lake::db::Target;
use pmu_lake::db::local::{Cluster, Settings};
use pmu_lake::load::migrate::{self, Migration};

use crate::support::pg;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pmu-lake"));
    for var in [
        "DATABASE_URL",
        "PGHOST",
        "PGDATABASE",
        "PGUSER",
        "PGPASSWORD",
        "PGPORT",
        "PGSSLMODE",
        "PGPASSFILE",
        "PGHOSTADDR",
        "PGAPPNAME",
        "PGCONNECT_TIMEOUT",
        "PGSSLROOTCERT",
        "PGOPTIONS",
        "PMU_PGDATA",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `pmu-lake db ACTION --dir DIR`, asserts it succeeded, and returns its stdout, trimmed
/// (the cluster's URL for `start`).
fn db_command(action: &str, dir: &std::path::Path) -> String {
    let out = bin()
        .args(["db", action, "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "db {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn migrations_apply_once_and_record_their_checksums() {
    let db = pg::fresh_db("migrate_once");
    let mut client = db.client();
    let first = migrate::run(&mut client).unwrap();
    assert_eq!(first.applied.len(), migrate::MIGRATIONS.len());
    let second = migrate::run(&mut client).unwrap();
    assert!(second.applied.is_empty());
    assert_eq!(second.present, migrate::MIGRATIONS.len());
    assert_eq!(
        db.count("SELECT count(*) FROM schema_migrations"),
        migrate::MIGRATIONS.len() as i64
    );
    assert_eq!(
        db.count("SELECT count(*) FROM schema_migrations WHERE length(checksum) = 64"),
        migrate::MIGRATIONS.len() as i64
    );
}

#[test]
fn an_edited_migration_is_refused_with_a_clear_error() {
    let db = pg::fresh_db("migrate_edited");
    let mut client = db.client();
    let v1 = [Migration {
        version: 1,
        name: "first",
        sql: "CREATE TABLE a (x integer)",
    }];
    migrate::apply(&mut client, &v1).unwrap();
    let edited = [Migration {
        version: 1,
        name: "first",
        sql: "CREATE TABLE a (x bigint)",
    }];
    let err = format!("{:#}", migrate::apply(&mut client, &edited).unwrap_err());
    assert!(
        err.contains("0001_first was changed after it was applied"),
        "{err}"
    );
    let unknown = format!("{:#}", migrate::apply(&mut client, &[]).unwrap_err());
    assert!(unknown.contains("does not know"), "{unknown}");
}

#[test]
fn a_failing_migration_leaves_neither_its_tables_nor_its_row() {
    let db = pg::fresh_db("migrate_failing");
    let mut client = db.client();
    let list = [
        Migration {
            version: 1,
            name: "ok",
            sql: "CREATE TABLE a (x integer)",
        },
        Migration {
            version: 2,
            name: "broken",
            sql: "CREATE TABLE b (x integer); SELECT 1/0",
        },
    ];
    let err = format!("{:#}", migrate::apply(&mut client, &list).unwrap_err());
    assert!(err.contains("0002_broken"), "{err}");
    assert_eq!(db.count("SELECT count(*) FROM schema_migrations"), 1);
    assert_eq!(
        db.count("SELECT count(*) FROM pg_tables WHERE tablename = 'b'"),
        0
    );
    let fixed = [
        list[0],
        Migration {
            version: 2,
            name: "broken",
            sql: "CREATE TABLE b (x integer)",
        },
    ];
    assert_eq!(migrate::apply(&mut client, &fixed).unwrap().applied, [2]);
}

#[test]
fn two_runners_at_once_apply_each_migration_once() {
    let db = pg::fresh_db("migrate_race");
    let runners: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                let mut client = Target::parse(&url).unwrap().connect().unwrap();
                migrate::run(&mut client).map(|a| a.applied.len())
            })
        })
        .collect();
    let applied: usize = runners
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .sum();
    assert_eq!(applied, migrate::MIGRATIONS.len());
    assert_eq!(
        db.count("SELECT count(*) FROM schema_migrations"),
        migrate::MIGRATIONS.len() as i64
    );
}

#[test]
fn migrate_command_applies_the_schema() {
    let db = pg::fresh_db("migrate_cmd");
    let out = bin()
        .args(["migrate", "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        db.count("SELECT count(*) FROM pg_tables WHERE tablename IN ('race', 'load_ledger')"),
        2
    );
}

#[test]
fn bad_or_unreachable_databases_fail_in_one_line_without_the_password() {
    let lake = pg::server().scratch("empty-lake");
    let nowhere = pg::server().scratch("no-server");
    let socket = nowhere.display().to_string().replace('/', "%2F");
    for (url, code) in [
        // The user's input: usage errors, exit 2.
        (
            "postgres://loader:hunter2secret@db.example:notaport/pmu".to_string(),
            2,
        ),
        (
            "postgres://loader:hunter2secret@db.example/pmu?sslmode=sometimes".to_string(),
            2,
        ),
        ("mysql://loader:hunter2secret@db.example/pmu".to_string(), 2),
        // Nobody there: failures, exit 1.
        (
            format!("postgres://loader:hunter2secret@{socket}:5432/pmu"),
            1,
        ),
        (
            "postgres://loader:hunter2secret@127.0.0.1:1/pmu?connect_timeout=5".to_string(),
            1,
        ),
    ] {
        let out = bin()
            .args(["load", "--quiet", "--lake"])
            .arg(&lake)
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{url}: {stderr}");
        assert!(
            !stderr.contains("hunter2secret"),
            "password shown for {url}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{url}: {stderr}");
    }
    // A socket nobody listens on, and a port nobody listens on, say so.
    let out = bin()
        .args(["migrate"])
        .env("PGHOST", &nowhere)
        .env("PGPASSWORD", "hunter2secret")
        .env("PGUSER", "loader")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("hunter2secret"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "no PostgreSQL server is listening on {}/.s.PGSQL.5432",
            nowhere.display()
        )),
        "{stderr}"
    );
    let out = bin()
        .args([
            "migrate",
            "--database-url",
            "postgresql://u@127.0.0.1:1/pmu",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no PostgreSQL server is listening on 127.0.0.1:1"),
        "{stderr}"
    );
}

/// Runs `pmu-lake migrate` with these environment variables (and nothing else of the PG*
/// family, and a local-cluster directory that must stay unused), asserts it succeeded, and
/// returns its stdout.
fn migrate_with(env: &[(&str, &str)]) -> String {
    let unused = pg::server().scratch("unused-local");
    let mut cmd = bin();
    cmd.arg("migrate").env("PMU_PGDATA", unused.join("pg"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{env:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !unused.join("pg").exists(),
        "{env:?}: the local cluster was used instead of the user's database"
    );
    String::from_utf8(out.stdout).unwrap()
}

fn migrated(db: &pg::TestDb) -> bool {
    db.count("SELECT count(*) FROM pg_tables WHERE tablename = 'load_ledger'") == 1
}

#[test]
fn a_unix_socket_is_reached_in_every_form_psql_takes_without_tls() {
    let server = pg::server();
    let dir = server.cluster().socket_dir().display().to_string();
    let encoded = dir.replace('/', "%2F");
    let port = server.cluster().port().to_string();
    let forms: Vec<Vec<(&str, String)>> = vec![
        vec![(
            "DATABASE_URL",
            format!("postgresql:///DB?host={dir}&port={port}&user=postgres"),
        )],
        vec![(
            "DATABASE_URL",
            format!("postgresql://postgres@{encoded}:{port}/DB"),
        )],
        vec![(
            "DATABASE_URL",
            format!("host={dir} port={port} user=postgres dbname=DB"),
        )],
        // The URL names the database; the PG* variables fill in the rest.
        vec![
            ("DATABASE_URL", "postgresql:///DB".to_string()),
            ("PGHOST", dir.clone()),
            ("PGPORT", port.clone()),
            ("PGUSER", "postgres".to_string()),
        ],
        // No URL: the PG* variables alone.
        vec![
            ("PGHOST", dir.clone()),
            ("PGPORT", port.clone()),
            ("PGUSER", "postgres".to_string()),
            ("PGDATABASE", "DB".to_string()),
            ("PGSSLMODE", "verify-full".to_string()),
        ],
    ];
    for (i, form) in forms.iter().enumerate() {
        let db = pg::fresh_db(&format!("socket_form_{i}"));
        let env: Vec<(&str, String)> = form
            .iter()
            .map(|(k, v)| (*k, v.replace("DB", &db.name)))
            .collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = migrate_with(&env);
        assert!(out.contains("migrate: applied"), "{env:?}: {out}");
        assert!(migrated(&db), "{env:?}: migrated another database");
    }
}

#[test]
fn a_url_without_host_finds_the_server_in_the_default_socket_directory() {
    // A server whose socket is in /tmp, libpq's other default directory, on a port of its own.
    let cluster = pg::own_cluster(
        "default-socket",
        &Settings {
            unsafe_fast: true,
            extra: vec!["unix_socket_directories = '/tmp'".into()],
        },
    );
    let port = cluster.port();
    cluster.start().unwrap();
    let result = std::panic::catch_unwind(|| {
        migrate_with(&[(
            "DATABASE_URL",
            &format!("postgresql:///postgres?port={port}&user=postgres"),
        )]);
        // PGPORT alone names the user's database too: the same server, not the local cluster.
        migrate_with(&[("PGPORT", &port.to_string()), ("PGUSER", "postgres")]);
    });
    cluster.stop().unwrap();
    result.unwrap();
}

/// A cluster on 127.0.0.1 that asks for a SCRAM password (`loader` / `pw:with@odd chars`) on
/// TCP; returns it with its port.
fn scram_cluster() -> (Cluster, u16) {
    let cluster = pg::own_cluster(
        "scram",
        &Settings {
            unsafe_fast: true,
            extra: vec![
                "listen_addresses = '127.0.0.1'".into(),
                "password_encryption = 'scram-sha-256'".into(),
            ],
        },
    );
    let port = cluster.port();
    let hba = cluster.dir().join("pg_hba.conf");
    write_owned(
        &cluster,
        &hba,
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
        0o600,
    );
    cluster.start().unwrap();
    let mut admin = Target::parse(&cluster.url("postgres"))
        .unwrap()
        .connect()
        .unwrap();
    for sql in [
        "CREATE ROLE loader LOGIN SUPERUSER PASSWORD 'pw:with@odd chars'",
        "CREATE DATABASE pmu OWNER loader",
    ] {
        admin.batch_execute(sql).unwrap();
    }
    (cluster, port)
}

#[test]
fn tcp_passwords_come_from_the_url_pgpassword_or_the_password_file() {
    let (cluster, port) = scram_cluster();
    let scratch = pg::server().scratch("pgpass");
    let passfile = scratch.join("pgpass");
    let home = scratch.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home_file = home.join(".pgpass");
    let line = format!("127.0.0.1:{port}:*:loader:pw\\:with@odd chars\n");
    for file in [&passfile, &home_file] {
        std::fs::write(file, format!("# a comment\nelsewhere:*:*:*:wrong\n{line}")).unwrap();
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let url = format!("postgresql://loader@127.0.0.1:{port}/pmu");
    let p = port.to_string();
    let nohome = scratch.join("nohome").display().to_string();
    let result = std::panic::catch_unwind(|| {
        // In the URL, percent-encoded.
        migrate_with(&[
            (
                "DATABASE_URL",
                &format!("postgresql://loader:pw%3Awith%40odd%20chars@127.0.0.1:{port}/pmu"),
            ),
            ("HOME", &nohome),
        ]);
        // From PGPASSWORD, filling in what the URL leaves out.
        migrate_with(&[
            ("DATABASE_URL", &url),
            ("PGPASSWORD", "pw:with@odd chars"),
            ("HOME", &nohome),
        ]);
        // From the password file named by PGPASSFILE, with the PG* variables alone.
        migrate_with(&[
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", &p),
            ("PGUSER", "loader"),
            ("PGDATABASE", "pmu"),
            ("PGPASSFILE", &passfile.display().to_string()),
            ("HOME", &nohome),
        ]);
        // From ~/.pgpass.
        migrate_with(&[
            ("DATABASE_URL", &url),
            ("HOME", &home.display().to_string()),
        ]);
    });
    // A password file others can read is ignored, with libpq's warning.
    std::fs::set_permissions(&home_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = bin()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("HOME", &home)
        .output()
        .unwrap();
    // A wrong password is refused without being shown.
    let wrong = bin()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("PGPASSWORD", "not-the-pw-123")
        .output()
        .unwrap();
    cluster.stop().unwrap();
    result.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("has group or world access; permissions should be u=rw (0600) or less"),
        "{stderr}"
    );
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert!(!stderr.contains("not-the-pw-123"), "{stderr}");
}

/// A cluster listening on 127.0.0.1 with `ssl=on` and a server certificate for `localhost`
/// signed by a CA made here. Returns (cluster, TCP port, CA file).
fn tls_cluster() -> (Cluster, u16, std::path::PathBuf) {
    let root = pg::server().scratch("tls");
    let port = pg::free_tcp_port();
    let cluster = Cluster::new(&root.join("data"), port).unwrap();
    let settings = Settings {
        unsafe_fast: true,
        extra: vec![
            "listen_addresses = '127.0.0.1'".into(),
            "ssl = on".into(),
            "ssl_cert_file = 'server.crt'".into(),
            "ssl_key_file = 'server.key'".into(),
        ],
    };
    cluster.init(&settings).unwrap();

    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "pmu-lake test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &ca).unwrap();

    let data = cluster.dir();
    write_owned(&cluster, &data.join("server.crt"), &cert.pem(), 0o644);
    write_owned(
        &cluster,
        &data.join("server.key"),
        &key.serialize_pem(),
        0o600,
    );
    let ca_file = root.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    cluster.start().unwrap();
    (cluster, port, ca_file)
}

fn write_owned(cluster: &Cluster, path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    if let Some((uid, gid)) = cluster.run_as() {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
}

fn uses_tls(url: &str) -> Result<bool, String> {
    let mut client = Target::parse(url)
        .and_then(|t| t.connect())
        .map_err(|e| format!("{e:#}"))?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[test]
fn tls_connections_follow_sslmode() {
    let (cluster, port, ca) = tls_cluster();
    let ca = ca.display().to_string().replace('/', "%2F");
    let url =
        |host: &str, query: &str| format!("postgres://postgres@{host}:{port}/postgres?{query}");

    assert_eq!(uses_tls(&url("localhost", "sslmode=disable")), Ok(false));
    assert_eq!(uses_tls(&url("localhost", "sslmode=prefer")), Ok(true));
    assert_eq!(uses_tls(&url("127.0.0.1", "sslmode=require")), Ok(true));
    assert_eq!(
        uses_tls(&url(
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={ca}")
        )),
        Ok(true)
    );
    assert_eq!(
        uses_tls(&url(
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}")
        )),
        Ok(true)
    );

    let wrong_host = uses_tls(&url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .unwrap_err();
    assert!(wrong_host.contains("cannot connect"), "{wrong_host}");
    assert!(
        wrong_host.to_lowercase().contains("not valid for name"),
        "{wrong_host}"
    );
    let unknown_ca = uses_tls(&url("localhost", "sslmode=verify-full")).unwrap_err();
    assert!(
        unknown_ca.to_lowercase().contains("unknown"),
        "{unknown_ca}"
    );

    cluster.stop().unwrap();
}

#[test]
fn require_refuses_a_server_without_tls() {
    // A server without a certificate: over TCP `require` must not fall back to plain text.
    let cluster = pg::own_cluster(
        "notls",
        &Settings {
            unsafe_fast: true,
            extra: vec!["listen_addresses = '127.0.0.1'".into()],
        },
    );
    let port = cluster.port();
    cluster.start().unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    assert_eq!(uses_tls(&format!("{url}?sslmode=prefer")), Ok(false));
    let err = uses_tls(&format!("{url}?sslmode=require")).unwrap_err();
    assert!(err.contains("cannot connect"), "{err}");
    cluster.stop().unwrap();
}

#[test]
fn db_command_creates_starts_and_stops_a_local_cluster() {
    let dir = pg::server().scratch("local").join("pg");
    let url = db_command("start", &dir);
    let mut client = Target::parse(&url).unwrap().connect().unwrap();
    let db: String = client
        .query_one("SELECT current_database()", &[])
        .unwrap()
        .get(0);
    assert_eq!(db, "pmu");
    drop(client);
    // Idempotent: a second start finds it running and prints the same URL.
    assert_eq!(db_command("start", &dir), url);
    db_command("stop", &dir);
    assert!(
        Target::parse(&url).unwrap().connect().is_err(),
        "stopped cluster still answers"
    );
}

#[test]
fn db_start_works_in_a_directory_the_server_user_cannot_reach() {
    // A checkout under /root: 0700 parents the `postgres` user cannot search when we are root.
    let private = pg::server().scratch("private");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let dir = private.join("pg");
    let url = db_command("start", &dir);
    let mut client = Target::parse(&url).unwrap().connect().unwrap();
    assert_eq!(
        client.query_one("SELECT 1", &[]).unwrap().get::<_, i32>(0),
        1
    );
    drop(client);
    db_command("stop", &dir);
    // As root the cluster was put elsewhere and linked: clean that up too.
    if let Ok(real) = std::fs::read_link(&dir) {
        assert!(
            real.starts_with(pmu_lake::db::local::ROOT_FALLBACK),
            "{}",
            real.display()
        );
        std::fs::remove_dir_all(real).unwrap();
    }
}

#[test]
fn tls_settings_come_from_the_pg_variables_as_psql_takes_them() {
    let (cluster, port, ca) = tls_cluster();
    let port = port.to_string();
    let ca = ca.display().to_string();
    let base = [
        ("PGHOST", "localhost"),
        ("PGPORT", port.as_str()),
        ("PGUSER", "postgres"),
        ("PGDATABASE", "postgres"),
        ("PGAPPNAME", "pmu-lake-tls-test"),
        ("PGCONNECT_TIMEOUT", "5"),
    ];
    let result = std::panic::catch_unwind(|| {
        let mut env = base.to_vec();
        env.extend([("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", ca.as_str())]);
        migrate_with(&env);
        // verify-full against the system roots: the test CA is unknown there.
        let out = bin()
            .arg("migrate")
            .envs(base)
            .env("PGSSLMODE", "verify-full")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.to_lowercase().contains("unknown"), "{stderr}");
    });
    cluster.stop().unwrap();
    result.unwrap();
}
