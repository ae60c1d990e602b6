//! A synthetic lake with its manifests, for timing `status` and `verify` on a large lake:
//! `cargo run --release --example synth_lake -- DIR DAYS RACES_PER_DAY`. Every object gets a
//! final manifest line, as extract would have written it.

#[path = "../tests/support/synth.rs"]
#[allow(dead_code)] // the tests' generator: this example uses part of it
mod synth;

use anyhow::{Context, Result};
use pmu_lake::lake::{self, Lake, ManifestEntry};
use synth::{RaceState, Spec};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, days, races] = args.as_slice() else {
        anyhow::bail!("usage: synth_lake DIR DAYS RACES_PER_DAY");
    };
    let spec = Spec::new(days.parse()?, races.parse()?);
    let lake = Lake::new(dir);
    for i in 0..spec.days {
        synth::write_day(&lake, &spec, i, RaceState::Finished)?;
        let day = spec.day(i);
        for o in lake.objects(day)? {
            let body = lake::read_body(&o.path)?;
            let stored = std::fs::metadata(&o.path)?.len();
            let rel = o
                .path
                .strip_prefix(lake.day_dir(day))
                .context("object outside its day")?;
            lake.append_manifest(
                day,
                &ManifestEntry {
                    path: rel.to_string_lossy().into_owned(),
                    url: format!("https://example.invalid/{}", rel.display()),
                    status: 200,
                    fetched_at: "2026-01-01T00:00:00.000Z".into(),
                    raw_bytes: body.len() as u64,
                    stored_bytes: stored,
                    sha256: lake::sha256_hex(&body),
                    is_final: true,
                    finality: Some("synthetic".into()),
                },
            )?;
        }
    }
    println!("wrote {} days into {dir}", spec.days);
    Ok(())
}
