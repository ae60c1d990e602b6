//! Lenient scalar deserializers for the PMU payloads: the API sends the same field as an int, a
//! float or a string depending on the date, the endpoint and the collector (`rapport` 83 / 3.1 /
//! 185.0, `robe.code` "020", `valeurMesure` "4,2"). Each function here accepts any JSON value and
//! never fails on a scalar it cannot use: it yields `None` (a tolerant model, not a validator).
//! Containers where a scalar was expected are skipped the same way.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Any JSON value, reduced to what a scalar field can use. Text borrows from the payload when
/// it has no escape (most of it): a first backfill reads hundreds of millions of strings.
#[derive(Debug, Clone, PartialEq)]
enum Scalar<'de> {
    Nothing,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Cow<'de, str>),
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Float(v))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Nothing)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Nothing)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nothing)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nothing)
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar<'de>, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

/// An integer: `7`, `7.0`, `"7"`, `"007"`. A fraction (`27.5`) or text (`"DP"`) is `None`:
/// those fields are modelled as floats or strings where the API really sends them.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Int(v) => Some(v),
        Scalar::Float(v) => float_to_int(v),
        Scalar::Text(s) => parse_int(&s),
        Scalar::Bool(_) | Scalar::Nothing => None,
    })
}

/// A decimal number: `3`, `3.1`, `"3.1"`, and the French decimal comma `"4,2"`.
pub fn float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Int(v) => Some(v as f64),
        Scalar::Float(v) => v.is_finite().then_some(v),
        Scalar::Text(s) => parse_float(&s),
        Scalar::Bool(_) | Scalar::Nothing => None,
    })
}

/// A string; a number or a bool where text was expected is kept as its JSON text (`20` → "20").
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(text_in(d)?.map(Cow::into_owned))
}

/// [`text`], borrowed from the payload unless the string has escapes (or was not a string).
pub fn text_in<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Text(s) => Some(s),
        Scalar::Int(v) => Some(Cow::Owned(v.to_string())),
        Scalar::Float(v) => Some(Cow::Owned(v.to_string())),
        Scalar::Bool(v) => Some(Cow::Owned(v.to_string())),
        Scalar::Nothing => None,
    })
}

/// A bool: `true`, `"true"`, `1`/`0`.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Bool(v) => Some(v),
        Scalar::Int(0) => Some(false),
        Scalar::Int(1) => Some(true),
        Scalar::Text(s) => match s.trim() {
            "true" | "TRUE" | "True" => Some(true),
            "false" | "FALSE" | "False" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

fn float_to_int(v: f64) -> Option<i64> {
    // 2^63 as f64: the first float beyond i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (v.is_finite() && v.fract() == 0.0 && v.abs() < LIMIT).then_some(v as i64)
}

pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>()
        .ok()
        .or_else(|| parse_float(s).and_then(float_to_int))
}

pub fn parse_float(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b',' | b'e' | b'E'))
    {
        return None; // refuses "inf", "NaN" and words that Rust's parser would accept
    }
    s.replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Default, Debug)]
    struct T {
        #[serde(default, deserialize_with = "super::int")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "super::float")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "super::text")]
        s: Option<String>,
        #[serde(default, deserialize_with = "super::boolean")]
        b: Option<bool>,
    }

    fn t(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn integers_accept_ints_whole_floats_and_numeric_strings() {
        assert_eq!(t(r#"{"i":9999999999}"#).i, Some(9_999_999_999));
        assert_eq!(t(r#"{"i":185.0}"#).i, Some(185));
        assert_eq!(t(r#"{"i":"020"}"#).i, Some(20));
        assert_eq!(t(r#"{"i":27.5}"#).i, None);
        assert_eq!(t(r#"{"i":"DP"}"#).i, None);
        assert_eq!(t(r#"{"i":null}"#).i, None);
        assert_eq!(t(r#"{}"#).i, None);
        assert_eq!(t(r#"{"i":[1,2]}"#).i, None);
        assert_eq!(t(r#"{"i":{"a":1}}"#).i, None);
    }

    #[test]
    fn floats_accept_ints_strings_and_the_decimal_comma() {
        assert_eq!(t(r#"{"f":83}"#).f, Some(83.0));
        assert_eq!(t(r#"{"f":3.1}"#).f, Some(3.1));
        assert_eq!(t(r#"{"f":"4,2"}"#).f, Some(4.2));
        assert_eq!(t(r#"{"f":" 21294.6 "}"#).f, Some(21294.6));
        assert_eq!(t(r#"{"f":"NaN"}"#).f, None);
        assert_eq!(t(r#"{"f":"inf"}"#).f, None);
        assert_eq!(t(r#"{"f":""}"#).f, None);
    }

    #[test]
    fn text_borrows_from_the_payload_unless_the_string_has_escapes() {
        use std::borrow::Cow;

        #[derive(Deserialize)]
        struct B<'a> {
            #[serde(borrow, deserialize_with = "super::text_in")]
            s: Option<Cow<'a, str>>,
        }
        let b = |json: &'static str| serde_json::from_str::<B<'static>>(json).unwrap().s;
        assert!(matches!(
            b(r#"{"s":"ÉCURIE DES MOTTES"}"#),
            Some(Cow::Borrowed("ÉCURIE DES MOTTES"))
        ));
        // An escape makes serde_json unescape into a buffer of its own: the text is the same.
        assert!(
            matches!(b(r#"{"s":"L\u0027AMI \"X\""}"#), Some(Cow::Owned(s)) if s == "L'AMI \"X\"")
        );
        assert!(matches!(b(r#"{"s":20}"#), Some(Cow::Owned(s)) if s == "20"));
        assert!(b(r#"{"s":null}"#).is_none());
    }

    #[test]
    fn text_keeps_numbers_as_their_json_text_and_booleans_read_loosely() {
        assert_eq!(t(r#"{"s":"020"}"#).s.as_deref(), Some("020"));
        assert_eq!(t(r#"{"s":20}"#).s.as_deref(), Some("20"));
        assert_eq!(t(r#"{"s":""}"#).s.as_deref(), Some(""));
        assert_eq!(t(r#"{"s":null}"#).s, None);
        assert_eq!(t(r#"{"b":true}"#).b, Some(true));
        assert_eq!(t(r#"{"b":"false"}"#).b, Some(false));
        assert_eq!(t(r#"{"b":0}"#).b, Some(false));
        assert_eq!(t(r#"{"b":"yes"}"#).b, None);
    }
}
