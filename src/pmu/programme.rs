//! The programme of a day (`GET …/programme/{DDMMYYYY}`): `{programme:{reunions:[{courses:[…]}]}}`.
//! Only what the schema keeps is modelled; unknown keys are ignored, every field is optional.

use serde::{Deserialize, Deserializer, Serialize};

use super::{Pays, num};

/// The response root, `{programme:{…}, timestampPMU:{…}}`: the one definition of a valid
/// programme payload, for extract's race discovery and for load alike. The root must be an
/// object holding a `programme` object; anything else is not a programme: a collector's bare
/// inner object (no `programme` key), a wrapper array `[ {…} ]` (which serde would otherwise read
/// by position), `{"programme":null}`. Inside, every key is optional (`reunions` missing = none).
#[derive(Debug)]
pub struct ProgrammeResponse {
    pub programme: Programme,
    pub timestamp_pmu: Option<TimestampPmu>,
}

impl ProgrammeResponse {
    /// Reads a programme body (see the type for what is accepted).
    pub fn parse(body: &[u8]) -> Result<ProgrammeResponse, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

impl<'de> Deserialize<'de> for ProgrammeResponse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ProgrammeResponse, D::Error> {
        #[derive(Deserialize)]
        struct Root {
            #[serde(deserialize_with = "super::object")]
            programme: Programme,
            #[serde(
                default,
                rename = "timestampPMU",
                deserialize_with = "super::object_or_default"
            )]
            timestamp_pmu: Option<TimestampPmu>,
        }
        let root: Root = super::object(d)?;
        Ok(ProgrammeResponse {
            programme: root.programme,
            timestamp_pmu: root.timestamp_pmu,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampPmu {
    /// Server time of the response, epoch ms.
    #[serde(default, deserialize_with = "num::int")]
    pub timestamp: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Programme {
    /// Paris midnight of the day, epoch ms.
    #[serde(deserialize_with = "num::int")]
    pub date: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub timezone_offset: Option<i64>,
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub reunions: Vec<Reunion>,
}

/// `hippodrome` is `{code, …}` on a réunion and `{codeHippodrome, …}` on a course.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Hippodrome {
    #[serde(alias = "codeHippodrome", deserialize_with = "num::text")]
    pub code: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub libelle_court: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub libelle_long: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Meteo {
    #[serde(deserialize_with = "num::int")]
    pub date_prevision: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub nebulosite_code: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub nebulosite_libelle_court: Option<String>,
    #[serde(deserialize_with = "num::float")]
    pub temperature: Option<f64>,
    #[serde(deserialize_with = "num::float")]
    pub force_vent: Option<f64>,
    #[serde(deserialize_with = "num::text")]
    pub direction_vent: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Reunion {
    /// The R number of the URLs and of the lake.
    #[serde(deserialize_with = "num::int")]
    pub num_officiel: Option<i64>,
    /// Not unique within a day (LOCAL réunions share it): informative only.
    #[serde(deserialize_with = "num::int")]
    pub num_externe: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub date_reunion: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub nature: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub audience: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub statut: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub region_hippique: Option<String>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub hippodrome: Hippodrome,
    #[serde(deserialize_with = "super::object_or_default")]
    pub pays: Pays,
    #[serde(deserialize_with = "super::object_or_default")]
    pub meteo: Option<Meteo>,
    #[serde(deserialize_with = "super::strings")]
    pub disciplines_mere: Vec<String>,
    #[serde(deserialize_with = "super::strings")]
    pub specialites: Vec<String>,
    /// Jackpots of the réunion's races.
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub cagnottes: Vec<Cagnotte>,
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub courses: Vec<Course>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Penetrometre {
    /// A string with a decimal comma: `"4,2"`.
    #[serde(rename = "valeurMesure", deserialize_with = "num::float")]
    pub valeur_mesure: Option<f64>,
    /// Local Paris time without a zone: `"2025-11-05T09:00"`.
    #[serde(rename = "heureMesure", deserialize_with = "num::text")]
    pub heure_mesure: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub intitule: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub commentaire: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Course {
    /// The C number of the URLs and of the lake.
    #[serde(deserialize_with = "num::int")]
    pub num_ordre: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub num_externe: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub heure_depart: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub timezone_offset: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub libelle: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub libelle_court: Option<String>,
    /// Euros.
    #[serde(deserialize_with = "num::int")]
    pub montant_prix: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub montant_total_offert: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub montant_offert1er: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub montant_offert2eme: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub montant_offert3eme: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub montant_offert4eme: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub montant_offert5eme: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub distance: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub distance_unit: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub parcours: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub corde: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub discipline: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub specialite: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub type_piste: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub categorie_particularite: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub condition_age: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub condition_sexe: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub conditions: Option<String>,
    #[serde(deserialize_with = "num::int")]
    pub nombre_declares_partants: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub statut: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub categorie_statut: Option<String>,
    #[serde(deserialize_with = "num::boolean")]
    pub arrivee_definitive: Option<bool>,
    /// The same flag under its other name; payloads carry one, the other or both.
    #[serde(deserialize_with = "num::boolean")]
    pub is_arrivee_definitive: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub rapports_definitifs_disponibles: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub course_exclusive_internet: Option<bool>,
    /// Milliseconds.
    #[serde(deserialize_with = "num::int")]
    pub duree_course: Option<i64>,
    /// Arrival order: `[[7],[3],[1,9]]`, dead heats share an inner array.
    #[serde(deserialize_with = "super::ordre_arrivee")]
    pub ordre_arrivee: Option<Vec<Vec<i64>>>,
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub incidents: Vec<Incident>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub penetrometre: Option<Penetrometre>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub hippodrome: Hippodrome,
    /// The réunion's jackpots for this race, plus some the réunion does not list (EB5 GARANTI).
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub cagnottes: Vec<Cagnotte>,
    /// The bet types offered on this race.
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub paris: Vec<Pari>,
}

/// A jackpot (`reunions[].cagnottes[]`, `courses[].cagnottes[]`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cagnotte {
    #[serde(deserialize_with = "num::text")]
    pub type_pari: Option<String>,
    /// The C number of the race the jackpot goes to.
    #[serde(deserialize_with = "num::int")]
    pub num_course: Option<i64>,
    /// Euros.
    #[serde(deserialize_with = "num::int")]
    pub montant: Option<i64>,
    #[serde(deserialize_with = "num::boolean")]
    pub cagnotte_internet: Option<bool>,
    #[serde(deserialize_with = "num::text")]
    pub type_cagnotte: Option<String>,
}

/// A bet type offered on a race (`courses[].paris[]`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Pari {
    #[serde(deserialize_with = "num::text")]
    pub type_pari: Option<String>,
    /// Centimes.
    #[serde(deserialize_with = "num::int")]
    pub mise_base: Option<i64>,
    /// Centimes; 9999999999 happens (beyond i32).
    #[serde(deserialize_with = "num::int")]
    pub mise_max: Option<i64>,
    #[serde(deserialize_with = "num::boolean")]
    pub en_vente: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub reportable: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub mis_en_paiement: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub spot_autorise: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub ordre: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub combine: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub complement: Option<bool>,
    #[serde(deserialize_with = "num::boolean")]
    pub nouveau_quinte: Option<bool>,
    /// No unit in the reference; equal to the réunion's jackpot `montant` (euros) in the samples.
    #[serde(deserialize_with = "num::int")]
    pub cagnotte: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub audience: Option<String>,
    #[serde(deserialize_with = "num::int")]
    pub nb_chevaux_reglementaire: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub pool_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Incident {
    #[serde(rename = "type", deserialize_with = "num::text")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "super::ints")]
    pub numero_participants: Vec<i64>,
}
