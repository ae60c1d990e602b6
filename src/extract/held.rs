//! Whether what the lake holds for an object is final: the one rule by which `extract` decides
//! what to ask again, and by which `status` and `extract --dry-run` count what it would ask.
//! The manifest's newest line for the object decides; without one (a lake copied in), the
//! stored content does, through [`super::finality`].

use std::collections::HashMap;
use std::path::Path;

use crate::day::Day;
use crate::lake::{self, Held, ManifestEntry, ObjectKey};
use crate::pmu::discovery::{self, Discovered, Race};

use super::finality::{self, Content};

/// The manifest's word on `key`: the newest line among its body and its markers. An empty
/// answer (204, 404) after a stored body leaves the body in place (the lake never throws data
/// away) and records the marker, so the body's own line is not the last answer.
pub fn latest_entry<'m>(
    manifest: &'m HashMap<String, ManifestEntry>,
    key: &ObjectKey,
    held: &Held,
) -> Option<&'m ManifestEntry> {
    let mut names = vec![key.body_name(), key.marker_name(204), key.marker_name(404)];
    if let Held::Marker(status, _) = held {
        names.push(key.marker_name(*status));
    }
    names
        .iter()
        .filter_map(|n| manifest.get(n))
        // Instants, not text: `…T10:00:00.5Z` sorts before `…T10:00:00Z` as a string.
        .max_by_key(|e| e.fetched_instant())
}

/// A stored programme's races; `None` when it does not read (it is then fetched again).
pub fn read_programme(path: &Path) -> Option<Discovered> {
    lake::read_body(path)
        .ok()
        .and_then(|body| discovery::discover(&body).ok())
}

/// What the lake holds for a day's programme, judged.
#[derive(Debug, Clone, Default)]
pub struct Programme {
    /// Final: the day's races are known for good (none for a final no-programme marker).
    pub is_final: bool,
    /// The races of the stored body, when there is one that reads (final or not).
    pub found: Option<Discovered>,
}

/// Judges the programme `held` for `day`. A body that does not read is not final (it is
/// fetched again); a marker without a manifest line is final only past the grace period (extract
/// writes one only then).
pub fn programme(
    day: Day,
    held: &Held,
    manifest: &HashMap<String, ManifestEntry>,
    today: Day,
    grace_days: u32,
) -> Programme {
    let key = ObjectKey::programme(day);
    // The newest line: an empty answer past the grace period after a stored body settles the
    // day, and the body's races stay.
    let entry = latest_entry(manifest, &key, held);
    match held {
        Held::Missing => Programme::default(),
        Held::Marker(status, _) => Programme {
            is_final: entry.map_or_else(
                || finality::empty_programme(day, today, *status, grace_days).is_final,
                |e| e.is_final,
            ),
            found: None,
        },
        Held::Body(path) => {
            let found = read_programme(path);
            let is_final = match (&found, entry) {
                (None, _) => false,
                (Some(_), Some(e)) => e.is_final,
                (Some(f), None) => finality::programme(day, today, f, None, grace_days).is_final,
            };
            Programme { is_final, found }
        }
    }
}

/// Whether the lake holds the per-race object `key` in final form: the manifest says so, or,
/// for an object without a manifest line (a lake copied in), its content does.
pub fn race_object(
    key: &ObjectKey,
    race: &Race,
    held: &Held,
    manifest: &HashMap<String, ManifestEntry>,
    grace_days: u32,
) -> bool {
    if matches!(held, Held::Missing) {
        return false;
    }
    if let Some(entry) = latest_entry(manifest, key, held) {
        return entry.is_final;
    }
    let judge = |content: Content<'_>| {
        finality::race_object(key.stage, race, content, key.day, None, grace_days).is_final
    };
    match held {
        Held::Body(path) => lake::read_body(path).is_ok_and(|body| judge(Content::Body(&body))),
        Held::Marker(status, _) => judge(Content::Empty(*status)),
        Held::Missing => false,
    }
}
