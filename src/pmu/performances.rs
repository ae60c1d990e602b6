//! Past races of each runner (`GET …/R{r}/C{c}/performances-detaillees/pretty`):
//! `{participants:[{numPmu, nomCheval, coursesCourues:[{…, participants:[…]}]}]}`. Durations here
//! are centiseconds (participants use ms); the subject horse's row has `itsHim: true`.

use serde::Deserialize;

use super::num;

/// The response root. `participants` is required: without it this is not a performances payload.
#[derive(Debug, Deserialize)]
pub struct PerformancesResponse {
    /// The gait of the race and of its runners' past races: `TROT` or `GALOP`.
    #[serde(default, deserialize_with = "num::text")]
    pub allure: Option<String>,
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub participants: Vec<Runner>,
}

/// One runner of today's race.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Runner {
    /// The link to the same race's participants payload.
    #[serde(deserialize_with = "num::int")]
    pub num_pmu: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub nom_cheval: Option<String>,
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub courses_courues: Vec<PastRace>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PastRace {
    /// Paris midnight of the race day, epoch ms.
    #[serde(deserialize_with = "num::int")]
    pub date: Option<i64>,
    /// A display name (`"Pontchâteau"`), not the programme's code.
    #[serde(deserialize_with = "num::text")]
    pub hippodrome: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub nom_prix: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub discipline: Option<String>,
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
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub participants: Vec<PastRunner>,
}

impl PastRace {
    /// The subject horse's row: the first with `itsHim: true`.
    pub fn subject(&self) -> Option<&PastRunner> {
        self.participants.iter().find(|p| p.its_him == Some(true))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Place {
    #[serde(deserialize_with = "num::int")]
    pub place: Option<i64>,
    #[serde(rename = "rawValue", deserialize_with = "num::text")]
    pub raw_value: Option<String>,
    #[serde(rename = "statusArrivee", deserialize_with = "num::text")]
    pub status_arrivee: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DistanceAvecPrecedent {
    #[serde(deserialize_with = "num::int")]
    pub code: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub identifiant: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub libelle_court: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub libelle_long: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PastRunner {
    #[serde(deserialize_with = "num::int")]
    pub num_pmu: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub nom_cheval: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub nom_jockey: Option<String>,
    #[serde(deserialize_with = "num::boolean")]
    pub its_him: Option<bool>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub place: Place,
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
    #[serde(deserialize_with = "num::text")]
    pub oeillere: Option<String>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub distance_avec_precedent: DistanceAvecPrecedent,
}
