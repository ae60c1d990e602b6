//! The runners of one race (`GET …/R{r}/C{c}/participants`): `{participants:[…]}`, non-starters
//! included. Weights are tenths of kg, gains and claiming prices centimes, times ms.

use serde::Deserialize;

use super::{Pays, num};

/// The response root. `participants` is required: without it this is not a participants payload.
#[derive(Debug, Deserialize)]
pub struct ParticipantsResponse {
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub participants: Vec<Participant>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Robe {
    /// Zero-padded string: `"020"`.
    #[serde(deserialize_with = "num::text")]
    pub code: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub libelle_court: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Gains {
    #[serde(deserialize_with = "num::int")]
    pub gains_carriere: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub gains_victoires: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub gains_place: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub gains_annee_en_cours: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub gains_annee_precedente: Option<i64>,
}

/// `dernierRapportDirect` / `dernierRapportReference`: the last win odds (decimal, ×1).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rapport {
    #[serde(deserialize_with = "num::text")]
    pub type_pari: Option<String>,
    #[serde(deserialize_with = "num::float")]
    pub rapport: Option<f64>,
    #[serde(deserialize_with = "num::text")]
    pub indicateur_tendance: Option<String>,
    #[serde(deserialize_with = "num::float")]
    pub nombre_indicateur_tendance: Option<f64>,
    #[serde(deserialize_with = "num::int")]
    pub date_rapport: Option<i64>,
    #[serde(deserialize_with = "num::boolean")]
    pub favoris: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Libelle {
    /// A number (`33`) for the gaps of `distanceChevalPrecedent`.
    #[serde(deserialize_with = "num::int")]
    pub code: Option<i64>,
    #[serde(rename = "identifiant", deserialize_with = "num::text")]
    pub identifiant: Option<String>,
    #[serde(rename = "libelleCourt", deserialize_with = "num::text")]
    pub libelle_court: Option<String>,
    #[serde(rename = "libelleLong", deserialize_with = "num::text")]
    pub libelle_long: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Commentaire {
    #[serde(deserialize_with = "num::text")]
    pub texte: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Participant {
    /// Saddle-cloth number: the runner's key within its race.
    #[serde(deserialize_with = "num::int")]
    pub num_pmu: Option<i64>,
    /// `UPPER(nom-nomMere-nomPere)`, absent in 2018 payloads.
    #[serde(deserialize_with = "num::text")]
    pub id_cheval: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub nom: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub nom_pere: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub nom_mere: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub nom_pere_mere: Option<String>,
    #[serde(deserialize_with = "num::int")]
    pub age: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub sexe: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub race: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub allure: Option<String>,
    /// `PARTANT` or `NON_PARTANT`.
    #[serde(deserialize_with = "num::text")]
    pub statut: Option<String>,
    /// Jockey or driver (both disciplines use this key); `jockey` read too, as some copies have it.
    #[serde(alias = "jockey", deserialize_with = "num::text")]
    pub driver: Option<String>,
    #[serde(deserialize_with = "num::boolean")]
    pub driver_change: Option<bool>,
    #[serde(deserialize_with = "num::text")]
    pub entraineur: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub proprietaire: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub eleveur: Option<String>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub robe: Robe,
    #[serde(deserialize_with = "num::text")]
    pub oeilleres: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub deferre: Option<String>,
    #[serde(deserialize_with = "num::boolean")]
    pub indicateur_inedit: Option<bool>,
    #[serde(deserialize_with = "num::text")]
    pub musique: Option<String>,
    #[serde(deserialize_with = "num::int")]
    pub nombre_courses: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub nombre_victoires: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub nombre_places: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub nombre_places_second: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub nombre_places_troisieme: Option<i64>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub gains_participant: Gains,
    #[serde(deserialize_with = "num::int")]
    pub place_corde: Option<i64>,
    /// Metres.
    #[serde(deserialize_with = "num::int")]
    pub handicap_distance: Option<i64>,
    /// Tenths of kg.
    #[serde(deserialize_with = "num::int")]
    pub handicap_poids: Option<i64>,
    #[serde(deserialize_with = "num::float")]
    pub handicap_valeur: Option<f64>,
    /// Tenths of kg.
    #[serde(deserialize_with = "num::int")]
    pub poids_condition_monte: Option<i64>,
    #[serde(deserialize_with = "num::boolean")]
    pub poids_condition_monte_change: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub jument_pleine: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub engagement: Option<bool>,
    #[serde(deserialize_with = "num::int")]
    pub supplement: Option<i64>,
    /// Centimes.
    #[serde(deserialize_with = "num::int")]
    pub taux_reclamation: Option<i64>,
    /// A plain string on runners (`"Irlande"`), an object elsewhere: both accepted.
    #[serde(deserialize_with = "super::object_or_default")]
    pub pays: Pays,
    #[serde(deserialize_with = "num::text")]
    pub pays_entrainement: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub ecurie: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub avis_entraineur: Option<String>,
    /// The runner's rank; absent when not classified. Dead heats share a rank.
    #[serde(deserialize_with = "num::int")]
    pub ordre_arrivee: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub incident: Option<String>,
    /// Milliseconds.
    #[serde(deserialize_with = "num::int")]
    pub temps_obtenu: Option<i64>,
    /// Milliseconds per km.
    #[serde(deserialize_with = "num::int")]
    pub reduction_kilometrique: Option<i64>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub distance_cheval_precedent: Libelle,
    #[serde(deserialize_with = "super::object_or_default")]
    pub commentaire_apres_course: Commentaire,
    /// The silks image; its host changes over the years.
    #[serde(deserialize_with = "num::text")]
    pub url_casaque: Option<String>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub dernier_rapport_direct: Option<Rapport>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub dernier_rapport_reference: Option<Rapport>,
}

impl Participant {
    /// The horse's key: `idCheval` when sent, else built the same way from the names.
    pub fn horse_key(&self) -> Option<String> {
        match self.id_cheval.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => Some(id.to_owned()),
            _ => super::id_cheval(
                self.nom.as_deref(),
                self.nom_mere.as_deref(),
                self.nom_pere.as_deref(),
            ),
        }
    }
}
