//! A throwaway PostgreSQL for the tests: one cluster per test binary (initdb in a temp dir, as
//! the `postgres` user when run as root, unix socket only, a random port number naming the
//! socket), started on first use and removed by a watchdog when the test process exits (even
//! after a panic). Each test gets its own database. No server binaries → the test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use pmu_lake::db::Target;
use pmu_lake::db::local::{Cluster, Settings};
use pmu_lake::load::migrate;
use postgres::Client;

/// Template database with every migration applied; tests clone it.
const TEMPLATE: &str = "pmu_template";

pub struct TestPg {
    cluster: Cluster,
    root: PathBuf,
}

static SERVER: OnceLock<TestPg> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The shared throwaway server, started on first use. Panics (failing the test) when it cannot
/// be started, e.g. without PostgreSQL server binaries.
pub fn server() -> &'static TestPg {
    SERVER.get_or_init(|| match TestPg::start() {
        Ok(pg) => pg,
        Err(e) => panic!("cannot start the throwaway PostgreSQL the tests need: {e:#}"),
    })
}

/// A fresh, empty database of the shared server.
pub fn fresh_db(label: &str) -> TestDb {
    server().create(label, None)
}

/// A fresh database with every migration applied.
pub fn migrated_db(label: &str) -> TestDb {
    server().create(label, Some(TEMPLATE))
}

impl TestPg {
    fn start() -> anyhow::Result<TestPg> {
        let root = std::env::temp_dir().join(format!(
            "pmu-lake-test-pg-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&root)?;
        let port = 20_000 + rand::random::<u16>() % 40_000;
        let cluster = Cluster::new(&root.join("data"), port)?;
        spawn_watchdog(&root, cluster.dir())?;
        let settings = Settings {
            unsafe_fast: true,
            // Commit times: what shows the order in which a load's two sessions commit.
            extra: vec![
                "max_connections = 200".into(),
                "track_commit_timestamp = on".into(),
            ],
        };
        cluster.init(&settings)?;
        cluster.start()?;
        let pg = TestPg { cluster, root };
        pg.cluster.create_database(TEMPLATE)?;
        let mut client = pg.client(TEMPLATE);
        migrate::run(&mut client)?;
        Ok(pg)
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// A directory under the server's temp root, removed with it.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.root.join(format!(
            "{name}-{}",
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("creating a scratch directory");
        dir
    }

    pub fn url(&self, db: &str) -> String {
        self.cluster.url(db)
    }

    pub fn client(&self, db: &str) -> Client {
        Target::parse(&self.url(db))
            .and_then(|t| t.connect())
            .expect("connecting to the test server")
    }

    fn create(&self, label: &str, template: Option<&str>) -> TestDb {
        let name = format!(
            "t_{}_{}",
            label.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = self.client("postgres");
        let sql = match template {
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
            None => format!("CREATE DATABASE {name}"),
        };
        admin
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        TestDb {
            url: self.url(&name),
            name,
        }
    }
}

/// A free TCP port on 127.0.0.1 (free when asked: the caller binds it soon after).
pub fn free_tcp_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A cluster of a test's own, initialised with `settings` on a free port under the scratch
/// directory `name` and not started (a test may edit its files first).
pub fn own_cluster(name: &str, settings: &Settings) -> Cluster {
    let root = server().scratch(name);
    let cluster = Cluster::new(&root.join("data"), free_tcp_port()).unwrap();
    cluster.init(settings).unwrap();
    cluster
}

/// One test's database.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn client(&self) -> Client {
        server().client(&self.name)
    }

    /// One number from a query returning one bigint-compatible value.
    pub fn count(&self, sql: &str) -> i64 {
        self.client()
            .query_one(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    /// md5 of every row of `table`, in a stable order: equal checksums mean equal contents.
    /// Volatile ledger times are left out.
    pub fn checksum(&self, table: &str) -> String {
        let sql = format!(
            "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
        );
        self.client()
            .query_one(&sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    /// md5 of the rows of `table` without surrogate keys (`id`, `*_id`) and `updated_at`: equal
    /// across two databases loaded from the same lake, whatever ids their sequences handed out.
    pub fn content_checksum(&self, table: &str) -> String {
        let sql = format!(
            "SELECT md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM (
                 SELECT (to_jsonb(t) - ARRAY(
                     SELECT column_name::text FROM information_schema.columns
                     WHERE table_schema = 'public' AND table_name = '{table}'
                       AND (column_name IN ('id', 'updated_at', 'loaded_at') OR column_name LIKE '%\\_id')))::text AS r
                 FROM {table} t) s"
        );
        self.client()
            .query_one(&sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    /// The foreign keys of the public schema: table, name, definition, validated; sorted.
    pub fn foreign_keys(&self) -> Vec<(String, String, String, bool)> {
        self.client()
            .query(
                "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid),
                        convalidated
                 FROM pg_constraint
                 WHERE contype = 'f' AND connamespace = 'public'::regnamespace
                 ORDER BY 1, 2",
                &[],
            )
            .expect("listing foreign keys")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    }

    /// (table, name, definition) of every index of the public schema.
    pub fn indexes(&self) -> Vec<(String, String, String)> {
        self.client()
            .query(
                "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes
                 WHERE schemaname = 'public' ORDER BY 1, 2",
                &[],
            )
            .expect("listing indexes")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    }

    /// Row count and content checksum of every target table.
    pub fn contents(&self) -> Vec<(String, i64, String)> {
        self.tables()
            .into_iter()
            .map(|t| {
                let n = self.count(&format!("SELECT count(*) FROM {t}"));
                let c = self.content_checksum(&t);
                (t, n, c)
            })
            .collect()
    }

    fn tables(&self) -> Vec<String> {
        self.client()
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'
                   AND tablename NOT IN ('load_ledger', 'schema_migrations') ORDER BY 1",
                &[],
            )
            .expect("listing tables")
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    /// Checksums of every table of the public schema but the ledger and migration bookkeeping.
    pub fn checksums(&self) -> Vec<(String, String)> {
        self.tables()
            .into_iter()
            .map(|t| {
                let c = self.checksum(&t);
                (t, c)
            })
            .collect()
    }
}

/// A shell that waits for this test process to end, then stops the server (SIGQUIT:
/// immediate shutdown, allowed to root) and removes the temp root.
fn spawn_watchdog(root: &Path, data: &Path) -> anyhow::Result<()> {
    let script = r#"
        while kill -0 "$1" 2>/dev/null; do sleep 1; done
        if [ -f "$2/postmaster.pid" ]; then
            pid=$(head -n 1 "$2/postmaster.pid")
            kill -QUIT "$pid" 2>/dev/null
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -rf "$3"
    "#;
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("pmu-lake-test-pg-watchdog")
        .arg(std::process::id().to_string())
        .arg(data)
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(())
}
