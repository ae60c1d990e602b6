//! Payloads → staging rows: one lake object's JSON turned into CSV records for the staging
//! tables of `load/sql.rs`.

use anyhow::Result;

use crate::lake::ObjectKey;

/// Staging rows of a batch (a day, or one object when isolating a failure): one CSV buffer per
/// entry of [`crate::load::sql::STAGING`], in the same order. Buffers are reused across batches.
#[derive(Debug, Default)]
pub struct Batch {
    // Filled in by the rows implementation.
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Empties every buffer, keeping their capacity.
    pub fn clear(&mut self) {}

    /// Adds the rows of one object. `key` (from the lake path) says which day, race and payload
    /// it is; `body` is the decompressed JSON. On error nothing of this object stays in the
    /// batch, and the error says why (wrong shape, invalid JSON…).
    pub fn add_object(&mut self, key: &ObjectKey, body: &[u8]) -> Result<()> {
        let _ = (key, body);
        anyhow::bail!("rows: not implemented yet")
    }

    /// CSV bytes and row count of staging table `i` (index into `sql::STAGING`).
    pub fn table(&self, i: usize) -> (&[u8], u64) {
        let _ = i;
        (&[], 0)
    }
}
