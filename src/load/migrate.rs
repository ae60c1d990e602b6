//! The schema migration runner: `migrations/NNNN_desc.sql` embedded in the binary, applied
//! forward-only in version order, each in one transaction together with its bookkeeping row,
//! checksummed (SHA-256) so an edited migration is caught, under an advisory lock so two
//! runners never interleave.

use anyhow::{Context, Result, bail};
use postgres::Client;

use crate::lake::sha256_hex;

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../migrations/", $file)),
        }
    };
}

/// Every migration of this binary, in order. Add a line per new file; never edit an old file.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "schema", "0001_schema.sql"),
    migration!(2, "ledger", "0002_ledger.sql"),
    migration!(3, "bet_offers", "0003_bet_offers.sql"),
    migration!(4, "comments", "0004_comments.sql"),
    migration!(5, "horse_source", "0005_horse_source.sql"),
    migration!(6, "mapping_version", "0006_mapping_version.sql"),
    migration!(7, "reference_odds_trend", "0007_reference_odds_trend.sql"),
    migration!(8, "more_fields", "0008_more_fields.sql"),
    migration!(9, "performance_report", "0009_performance_report.sql"),
    migration!(10, "ledger_stat", "0010_ledger_stat.sql"),
];

/// Key of the advisory lock held while migrating ("pmu-lake" in ASCII, as an i64).
const LOCK_KEY: i64 = 0x706d_752d_6c61_6b65;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Versions applied by this run.
    pub applied: Vec<i64>,
    /// Versions that were already there.
    pub present: usize,
}

/// Applies the embedded migrations.
pub fn run(client: &mut Client) -> Result<Applied> {
    apply(client, MIGRATIONS)
}

/// Applies `migrations` (sorted by version) that the database does not have yet.
pub fn apply(client: &mut Client, migrations: &[Migration]) -> Result<Applied> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .context("taking the migration lock")?;
    let result = apply_locked(client, migrations);
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .context("releasing the migration lock");
    let applied = result?;
    unlock?;
    Ok(applied)
}

fn apply_locked(client: &mut Client, migrations: &[Migration]) -> Result<Applied> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    bigint      PRIMARY KEY,
                 name       text        NOT NULL,
                 checksum   text        NOT NULL,  -- SHA-256 (hex) of the migration's SQL text
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .context("creating schema_migrations")?;
    let rows = client.query(
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
        &[],
    )?;
    let mut outcome = Applied::default();
    for row in &rows {
        let (version, name, checksum): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
        let Some(known) = migrations.iter().find(|m| m.version == version) else {
            bail!(
                "the database has migration {version:04}_{name}, which this pmu-lake does not know: use a newer pmu-lake"
            );
        };
        if sha256_hex(known.sql.as_bytes()) != checksum {
            bail!(
                "migration {version:04}_{name} was changed after it was applied (checksum {} in the database, {} in this binary): \
                 add a new migration instead of editing an old one",
                short(&checksum),
                short(&sha256_hex(known.sql.as_bytes()))
            );
        }
        outcome.present += 1;
    }
    for m in migrations {
        if rows.iter().any(|r| r.get::<_, i64>(0) == m.version) {
            continue;
        }
        let label = format!("{:04}_{}", m.version, m.name);
        let mut tx = client.transaction()?;
        tx.batch_execute(m.sql)
            .with_context(|| format!("applying migration {label}"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &sha256_hex(m.sql.as_bytes())],
        )
        .with_context(|| format!("recording migration {label}"))?;
        tx.commit()
            .with_context(|| format!("committing migration {label}"))?;
        outcome.applied.push(m.version);
    }
    Ok(outcome)
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_migrations_are_numbered_in_order_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
            assert!(!m.sql.trim().is_empty(), "{} is empty", m.name);
        }
    }
}
