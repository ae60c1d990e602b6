//! Past races of each runner (`GET …/R{r}/C{c}/performances-detaillees/pretty`):
//! `{participants:[{numPmu, nomCheval, coursesCourues:[{…, participants:[…]}]}]}`. Durations here
//! are centiseconds (participants use ms); the subject horse's row has `itsHim: true`.
//!
//! The texts borrow from the payload (`num::text_in`): a first backfill of 600 bench days reads
//! 15 million past runners of 8 texts each. With one `String` per text, parsing 60 bench days of
//! these payloads took 1.17-1.65 s (the best of 5, four times), borrowed 0.74-1.26 s; the whole
//! reader thread of a 21-day load ran 9.4 % fewer instructions (callgrind).

use std::borrow::Cow;

use serde::Deserialize;

use super::num;

/// The response root. `participants` is required: without it this is not a performances payload.
#[derive(Debug, Deserialize)]
pub struct PerformancesResponse<'a> {
    /// The gait of the race and of its runners' past races: `TROT` or `GALOP`.
    #[serde(default, borrow, deserialize_with = "num::text_in")]
    pub allure: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "super::seq_or_empty")]
    pub participants: Vec<Runner<'a>>,
}

/// One runner of today's race.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Runner<'a> {
    /// The link to the same race's participants payload.
    #[serde(deserialize_with = "num::int")]
    pub num_pmu: Option<i64>,
    #[serde(borrow, deserialize_with = "num::text_in")]
    pub nom_cheval: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "super::seq_or_empty")]
    pub courses_courues: Vec<PastRace<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PastRace<'a> {
    /// Paris midnight of the race day, epoch ms.
    #[serde(deserialize_with = "num::int")]
    pub date: Option<i64>,
    /// A display name (`"Pontchâteau"`), not the programme's code.
    #[serde(borrow, deserialize_with = "num::text_in")]
    pub hippodrome: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "num::text_in")]
    pub nom_prix: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "num::text_in")]
    pub discipline: Option<Cow<'a, str>>,
    /// Euros.
    #[serde(deserialize_with = "num::int")]
    pub allocation: Option<i64>,
    /// Metres.
    #[serde(deserialize_with = "num::int")]
    pub distance: Option<i64>,
    /// The field size, not the length of `participants`.
    #[serde(deserialize_with = "num::int")]
    pub nb_participants: Option<i64>,
    /// Centiseconds.
    #[serde(deserialize_with = "num::int")]
    pub temps_du_premier: Option<i64>,
    /// A subset of the field: the first finishers and the subject horse.
    #[serde(borrow, deserialize_with = "super::seq_or_empty")]
    pub participants: Vec<PastRunner<'a>>,
}

impl<'a> PastRace<'a> {
    /// The subject horse's row: the first with `itsHim: true`.
    pub fn subject(&self) -> Option<&PastRunner<'a>> {
        self.participants.iter().find(|p| p.its_him == Some(true))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Place<'a> {
    #[serde(deserialize_with = "num::int")]
    pub place: Option<i64>,
    #[serde(rename = "rawValue", borrow, deserialize_with = "num::text_in")]
    pub raw_value: Option<Cow<'a, str>>,
    #[serde(rename = "statusArrivee", borrow, deserialize_with = "num::text_in")]
    pub status_arrivee: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DistanceAvecPrecedent<'a> {
    #[serde(deserialize_with = "num::int")]
    pub code: Option<i64>,
    #[serde(borrow, deserialize_with = "num::text_in")]
    pub identifiant: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "num::text_in")]
    pub libelle_court: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "num::text_in")]
    pub libelle_long: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PastRunner<'a> {
    #[serde(deserialize_with = "num::int")]
    pub num_pmu: Option<i64>,
    #[serde(borrow, deserialize_with = "num::text_in")]
    pub nom_cheval: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "num::text_in")]
    pub nom_jockey: Option<Cow<'a, str>>,
    #[serde(deserialize_with = "num::boolean")]
    pub its_him: Option<bool>,
    #[serde(borrow, deserialize_with = "super::object_or_default")]
    pub place: Place<'a>,
    /// Centiseconds per km.
    #[serde(deserialize_with = "num::int")]
    pub reduction_kilometrique: Option<i64>,
    /// Metres.
    #[serde(deserialize_with = "num::int")]
    pub distance_parcourue: Option<i64>,
    /// kg, a float (`58.0`).
    #[serde(deserialize_with = "num::float")]
    pub poids_jockey: Option<f64>,
    #[serde(deserialize_with = "num::int")]
    pub corde: Option<i64>,
    #[serde(borrow, deserialize_with = "num::text_in")]
    pub oeillere: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "super::object_or_default")]
    pub distance_avec_precedent: DistanceAvecPrecedent<'a>,
}
