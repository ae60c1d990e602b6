//! Serde models of the four PMU payloads, tolerant of every quirk listed in pmu-api.md: every
//! field optional, unknown keys ignored, numbers as ints, floats or strings (see [`num`]),
//! `null` where an array or object is expected read as empty. Only the real API shapes are
//! accepted at the root: programme `{programme:{…}}`, participants and performances
//! `{participants:[…]}`, rapports `[…]`.

pub mod discovery;
pub mod num;
pub mod participants;
pub mod performances;
pub mod programme;
pub mod rapports;

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A country: `{code, libelle}` on a réunion, a plain string (`"France"`, `"Ireland"`) on a
/// runner. Both shapes land here; the string becomes the `libelle`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pays {
    pub code: Option<String>,
    pub libelle: Option<String>,
}

impl<'de> Deserialize<'de> for Pays {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Pays, D::Error> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Object {
            #[serde(deserialize_with = "num::text")]
            code: Option<String>,
            #[serde(deserialize_with = "num::text")]
            libelle: Option<String>,
        }
        struct PaysVisitor;
        impl<'de> Visitor<'de> for PaysVisitor {
            type Value = Pays;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a country object or name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Pays, E> {
                Ok(Pays {
                    code: None,
                    libelle: Some(v.to_owned()),
                })
            }
            fn visit_unit<E: de::Error>(self) -> Result<Pays, E> {
                Ok(Pays::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Pays, A::Error> {
                let o = Object::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Pays {
                    code: o.code,
                    libelle: o.libelle,
                })
            }
        }
        d.deserialize_any(PaysVisitor)
    }
}

/// An array of objects; `null` or a missing key is empty, `null` elements are skipped. Anything
/// else (an object where an array belongs) is a wrong shape and fails the payload.
pub(crate) fn seq_or_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct SeqVisitor<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for SeqVisitor<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(item) = seq.next_element::<Option<T>>()? {
                out.extend(item);
            }
            Ok(out)
        }
    }
    d.deserialize_any(SeqVisitor(PhantomData))
}

/// An object, and only an object: serde's derive would also read a struct from an array (by
/// position) and a `Default` struct from `[]`, which would let a wrong shape through.
pub(crate) fn object<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ObjectVisitor<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(ObjectVisitor(PhantomData))
}

/// An object, or its default when `null`.
pub(crate) fn object_or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An array of scalars read as strings; `null` elements and nested containers are dropped.
pub(crate) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    struct Item(#[serde(deserialize_with = "num::text")] Option<String>);
    let items: Vec<Item> = seq_or_empty(d)?;
    Ok(items.into_iter().filter_map(|i| i.0).collect())
}

/// An array of scalars read as integers (`[1, "9"]`); what is not an integer is dropped.
pub(crate) fn ints<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Item(#[serde(deserialize_with = "num::int")] Option<i64>);
    let items: Vec<Item> = seq_or_empty(d)?;
    Ok(items.into_iter().filter_map(|i| i.0).collect())
}

/// `ordreArrivee`: an array of arrays (`[[7],[3],[1,9]]`, dead heats share an inner array). A
/// flat element (`[7,3]`, as some copies have it) is read as a group of one.
pub(crate) fn ordre_arrivee<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<Vec<i64>>>, D::Error> {
    struct Group(Vec<i64>);
    impl<'de> Deserialize<'de> for Group {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Group, D::Error> {
            struct GroupVisitor;
            impl<'de> Visitor<'de> for GroupVisitor {
                type Value = Group;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a runner number or an array of them")
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Group, E> {
                    Ok(Group(vec![v]))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Group, E> {
                    Ok(Group(i64::try_from(v).map(|v| vec![v]).unwrap_or_default()))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Group, E> {
                    Ok(Group(
                        num::parse_int(&v.to_string())
                            .map(|v| vec![v])
                            .unwrap_or_default(),
                    ))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Group, E> {
                    Ok(Group(
                        num::parse_int(v).map(|v| vec![v]).unwrap_or_default(),
                    ))
                }
                fn visit_unit<E: de::Error>(self) -> Result<Group, E> {
                    Ok(Group(Vec::new()))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Group, A::Error> {
                    ints(de::value::SeqAccessDeserializer::new(seq)).map(Group)
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Group, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(Group(Vec::new()))
                }
            }
            d.deserialize_any(GroupVisitor)
        }
    }
    let groups: Option<Vec<Group>> = Option::deserialize(d)?;
    Ok(groups.map(|g| {
        g.into_iter()
            .map(|g| g.0)
            .filter(|g| !g.is_empty())
            .collect()
    }))
}

/// `UPPER(nom-nomMere-nomPere)`: how the API builds `idCheval`, and how we build it for payloads
/// that lack it (2018). `None` without a name.
pub fn id_cheval(
    nom: Option<&str>,
    nom_mere: Option<&str>,
    nom_pere: Option<&str>,
) -> Option<String> {
    let nom = nom.map(str::trim).filter(|n| !n.is_empty())?;
    let part = |s: Option<&str>| s.map(str::trim).unwrap_or("").to_uppercase();
    Some(format!(
        "{}-{}-{}",
        nom.to_uppercase(),
        part(nom_mere),
        part(nom_pere)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pays_accepts_the_object_and_the_plain_string() {
        let p: Pays = serde_json::from_str(r#"{"code":"HKG","libelle":"Hong-Kong"}"#).unwrap();
        assert_eq!(
            (p.code.as_deref(), p.libelle.as_deref()),
            (Some("HKG"), Some("Hong-Kong"))
        );
        let p: Pays = serde_json::from_str(r#""Irlande""#).unwrap();
        assert_eq!((p.code, p.libelle.as_deref()), (None, Some("Irlande")));
    }

    #[test]
    fn ordre_arrivee_keeps_dead_heats_and_reads_flat_lists() {
        #[derive(Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "ordre_arrivee")]
            o: Option<Vec<Vec<i64>>>,
        }
        let t: T = serde_json::from_str(r#"{"o":[[7],[3],[1,9],["4"]]}"#).unwrap();
        assert_eq!(t.o, Some(vec![vec![7], vec![3], vec![1, 9], vec![4]]));
        let t: T = serde_json::from_str(r#"{"o":[7,3]}"#).unwrap();
        assert_eq!(t.o, Some(vec![vec![7], vec![3]]));
        let t: T = serde_json::from_str(r#"{"o":null}"#).unwrap();
        assert_eq!(t.o, None);
    }

    #[test]
    fn id_cheval_is_built_like_the_api_builds_it() {
        assert_eq!(
            id_cheval(Some("KASTELBRAC"), Some("Chicha"), Some("Quido du Goutier")).as_deref(),
            Some("KASTELBRAC-CHICHA-QUIDO DU GOUTIER")
        );
        assert_eq!(id_cheval(Some("X"), None, None).as_deref(), Some("X--"));
        assert_eq!(id_cheval(Some("  "), Some("A"), Some("B")), None);
    }
}
