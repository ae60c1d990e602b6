//! Final dividends of one race (`GET …/R{r}/C{c}/rapports-definitifs`): the root is an array of
//! bet types, each with its paid combinations. Amounts are centimes. `[]` means "not published
//! yet". `E_` bet types are the internet pools, the others the shops' (points of sale).

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::num;

/// The response root: an array. An object here is a wrong shape, and fails.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct RapportsResponse(#[serde(deserialize_with = "root_array")] pub Vec<Bet>);

fn root_array<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Bet>, D::Error> {
    struct RootVisitor;
    impl<'de> Visitor<'de> for RootVisitor {
        type Value = Vec<Bet>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of bet types (the rapports root is an array)")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<Bet>, A::Error> {
            super::seq_or_empty(de::value::SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_seq(RootVisitor)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Bet {
    #[serde(deserialize_with = "num::text")]
    pub type_pari: Option<String>,
    /// Centimes.
    #[serde(deserialize_with = "num::int")]
    pub mise_base: Option<i64>,
    #[serde(deserialize_with = "num::boolean")]
    pub rembourse: Option<bool>,
    #[serde(deserialize_with = "num::text")]
    pub audience: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub famille_pari: Option<String>,
    #[serde(deserialize_with = "num::text")]
    pub dividende_unite: Option<String>,
    #[serde(deserialize_with = "super::seq_or_empty")]
    pub rapports: Vec<Report>,
}

/// Which pool a bet type belongs to: `E_…` (and `EB5`, the internet-only Big 5) are sold on the
/// internet, the rest in shops.
pub fn is_internet_pool(type_pari: &str) -> bool {
    type_pari.starts_with("E_") || type_pari.starts_with("EB")
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Report {
    /// The only field that says Ordre / Désordre / Bonus.
    #[serde(deserialize_with = "num::text")]
    pub libelle: Option<String>,
    /// `"7-3"`, `"4-NP"`, or `["7","3"]` with `combinaisonEnTableau`: kept as the dashed string.
    #[serde(deserialize_with = "combinaison")]
    pub combinaison: Option<String>,
    /// Centimes, per 1 € or per base stake depending on `dividendeUnite`.
    #[serde(deserialize_with = "num::int")]
    pub dividende: Option<i64>,
    /// Centimes per 1 €: the unit-safe figure.
    #[serde(deserialize_with = "num::int")]
    pub dividende_pour_un_euro: Option<i64>,
    /// Centimes per base stake.
    #[serde(deserialize_with = "num::int")]
    pub dividende_pour_une_mise_de_base: Option<i64>,
    #[serde(deserialize_with = "num::text")]
    pub dividende_unite: Option<String>,
    /// Int or float; absent when the dividend is 0.
    #[serde(deserialize_with = "num::float")]
    pub nombre_gagnants: Option<f64>,
}

/// A combination as a string (`"4-11-NP"`) or an array (`["4","11","NP"]`), read as the string.
fn combinaison<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct CombiVisitor;
    impl<'de> Visitor<'de> for CombiVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a combination string or array")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            let parts = super::strings(de::value::SeqAccessDeserializer::new(seq))?;
            Ok(Some(parts.join("-")))
        }
    }
    d.deserialize_any(CombiVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinaison_is_read_from_a_string_or_an_array() {
        let r: Report = serde_json::from_str(r#"{"combinaison":["4","11","NP"]}"#).unwrap();
        assert_eq!(r.combinaison.as_deref(), Some("4-11-NP"));
        let r: Report = serde_json::from_str(r#"{"combinaison":"4-NP"}"#).unwrap();
        assert_eq!(r.combinaison.as_deref(), Some("4-NP"));
        let r: Report = serde_json::from_str(r#"{"combinaison":7}"#).unwrap();
        assert_eq!(r.combinaison.as_deref(), Some("7"));
    }

    #[test]
    fn the_root_must_be_an_array() {
        assert!(
            serde_json::from_str::<RapportsResponse>(r#"{"typePari":"E_SIMPLE_GAGNANT"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<RapportsResponse>("[]")
                .unwrap()
                .0
                .is_empty()
        );
    }

    #[test]
    fn pools_are_told_apart_by_the_bet_type() {
        assert!(is_internet_pool("E_SIMPLE_GAGNANT"));
        assert!(is_internet_pool("EB5"));
        assert!(!is_internet_pool("SIMPLE_GAGNANT"));
        assert!(!is_internet_pool("TIERCE"));
    }
}
