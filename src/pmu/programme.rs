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
    /// The R numbers of the réunions before and after this one at the same racecourse (`null`
    /// for none).
    #[serde(deserialize_with = "num::int")]
    pub num_officiel_reunion_precedente: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub num_officiel_reunion_suivante: Option<i64>,
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
    /// The day's event bets (QUINTE_PLUS, PICK5…) and the race each is run on.
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub paris_evenement: Vec<PariEvenement>,
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub courses: Vec<Course>,
}

/// `reunions[].parisEvenement[]`: `{codePari, course:{dateProgramme, numReunion, numOrdre}}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PariEvenement {
    #[serde(deserialize_with = "num::text")]
    pub code_pari: Option<String>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub course: CourseRef,
}

/// A race pointed at: its day (Paris midnight, epoch ms), R and C.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CourseRef {
    #[serde(deserialize_with = "num::int")]
    pub date_programme: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub num_reunion: Option<i64>,
    #[serde(deserialize_with = "num::int")]
    pub num_ordre: Option<i64>,
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
    /// `ENQUETE` when the stewards looked into the provisional arrival.
    #[serde(deserialize_with = "num::text")]
    pub indicateur_evenement_arrivee_provisoire: Option<String>,
    /// `TERMINEE SANS MODIFICATION` or `TERMINEE AVEC MODIFICATION`.
    #[serde(deserialize_with = "num::text")]
    pub details_indicateur_evenement_arrivee_provisoire: Option<String>,
    #[serde(deserialize_with = "num::int")]
    pub num_course_dedoublee: Option<i64>,
    #[serde(deserialize_with = "num::boolean")]
    pub grand_prix_national_trot: Option<bool>,
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
    #[serde(deserialize_with = "super::ints")]
    pub valeurs_flexi_autorisees: Vec<i64>,
    #[serde(deserialize_with = "super::ints")]
    pub valeurs_risque_autorisees: Vec<i64>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub infos_jackpot: Option<InfosJackpot>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub infos_option_max: Option<InfosOptionMax>,
}

/// `paris[].infosJackpot`: the stake and the share of it that goes to the jackpot.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InfosJackpot {
    /// Centimes.
    #[serde(deserialize_with = "num::int")]
    pub mise_base: Option<i64>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub taux_contribution: Taux,
}

/// `paris[].infosOptionMax`: the "option max" of a bet, with its draws when made.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InfosOptionMax {
    /// Centimes.
    #[serde(deserialize_with = "num::int")]
    pub mise_base: Option<i64>,
    #[serde(deserialize_with = "super::object_or_default")]
    pub taux_contribution: Taux,
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub tirage: Vec<Tirage>,
}

/// One draw of an option max: a coefficient (`2` or `2.0`) and the runner numbers it applies to.
#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Tirage {
    #[serde(deserialize_with = "num::float")]
    pub coef: Option<f64>,
    #[serde(deserialize_with = "super::ints")]
    pub numeros: Vec<i64>,
}

/// `tauxContribution`: a fraction `{numerateur, denominateur}` (1/3) in most payloads, a plain
/// number (`25`) in others; each shape lands in its own fields.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Taux {
    pub numerateur: Option<i64>,
    pub denominateur: Option<i64>,
    pub valeur: Option<f64>,
}

impl<'de> Deserialize<'de> for Taux {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Taux, D::Error> {
        use serde::de::{self, MapAccess, Visitor};
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Fraction {
            #[serde(deserialize_with = "num::int")]
            numerateur: Option<i64>,
            #[serde(deserialize_with = "num::int")]
            denominateur: Option<i64>,
        }
        struct TauxVisitor;
        impl<'de> Visitor<'de> for TauxVisitor {
            type Value = Taux;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a fraction object or a number")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Taux, A::Error> {
                let f = Fraction::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Taux {
                    numerateur: f.numerateur,
                    denominateur: f.denominateur,
                    valeur: None,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Taux, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Taux, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Taux, E> {
                Ok(Taux {
                    valeur: Some(v),
                    ..Taux::default()
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Taux, E> {
                Ok(Taux {
                    valeur: num::parse_float(v),
                    ..Taux::default()
                })
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Taux, E> {
                Ok(Taux::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Taux, E> {
                Ok(Taux::default())
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Taux, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Taux::default())
            }
        }
        d.deserialize_any(TauxVisitor)
    }
}

#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Incident {
    #[serde(rename = "type", deserialize_with = "num::text")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "super::ints")]
    pub numero_participants: Vec<i64>,
}
