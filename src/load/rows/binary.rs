//! PostgreSQL's binary COPY format, for the staging tables that cost the server most to parse
//! as text (`Table::binary` in `load::sql`): each field arrives as the bytes the server stores,
//! where CSV has it find the field's end, unquote it and convert it. 200 bench days into a
//! temporary table, `COPY … (FORMAT csv)` against `(FORMAT binary)`, two runs each:
//! `stg_perf_report`'s 187,600 rows (two integer arrays each) 1.35-1.51 s against 0.24-0.37 s;
//! the same runners as `race_participant` rows 1.44-1.46 s against 0.70-0.85 s.
//!
//! A buffer in this format is the header, then per row its field count and each field as its
//! length and its bytes in network order (length -1 for NULL), then the trailer. The writers
//! here give the values PostgreSQL's text input gives for the CSV of `load::rows::Row`: the
//! same rows, whichever format a table is sent in.

use chrono::{NaiveDate, NaiveDateTime};

#[cfg(test)]
use crate::load::sql::Ty;

/// The column types these writers cover: a table sent in binary has no other.
#[cfg(test)]
pub const TYPES: [Ty; 8] = [
    Ty::Text,
    Ty::Int,
    Ty::BigInt,
    Ty::Numeric,
    Ty::Boolean,
    Ty::Date,
    Ty::Timestamptz,
    Ty::IntArray,
];

/// The signature, no flags, no header extension.
pub const HEADER: &[u8; 19] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The field count of the end of the data.
pub const TRAILER: [u8; 2] = (-1_i16).to_be_bytes();

/// `int4`'s type OID, which an array names for its elements.
const INT4_OID: u32 = 23;

/// Day 0 of PostgreSQL's dates, and midnight of it the zero of its timestamps.
const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");

/// `numeric`'s signs.
const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;

/// Starts a row of `fields` fields, after the header when `buf` holds no row yet.
pub fn row(buf: &mut Vec<u8>, fields: i16) {
    if buf.is_empty() {
        buf.extend_from_slice(HEADER);
    }
    buf.extend_from_slice(&fields.to_be_bytes());
}

/// The length in bytes of the first `n` fields of `fields` (a row's fields after its field
/// count, as the writers here lay them out).
pub fn fields_len(fields: &[u8], n: usize) -> usize {
    let mut at = 0;
    for _ in 0..n {
        let len = i32::from_be_bytes(fields[at..at + 4].try_into().expect("four bytes"));
        at += 4 + usize::try_from(len).unwrap_or(0);
    }
    at
}

pub fn null(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&(-1_i32).to_be_bytes());
}

pub fn int4(buf: &mut Vec<u8>, v: i32) {
    buf.extend_from_slice(&4_i32.to_be_bytes());
    buf.extend_from_slice(&v.to_be_bytes());
}

pub fn int8(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(&8_i32.to_be_bytes());
    buf.extend_from_slice(&v.to_be_bytes());
}

pub fn boolean(buf: &mut Vec<u8>, v: bool) {
    buf.extend_from_slice(&1_i32.to_be_bytes());
    buf.push(u8::from(v));
}

/// Text without its NUL bytes, which PostgreSQL text cannot hold (as the CSV writer drops them).
pub fn text(buf: &mut Vec<u8>, s: &str) {
    let at = buf.len();
    buf.extend_from_slice(&0_i32.to_be_bytes());
    buf.extend(s.bytes().filter(|&b| b != 0));
    let len = i32::try_from(buf.len() - at - 4).expect("a text under 2 GB");
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// A `timestamp` or `timestamptz` (UTC) to the microsecond.
pub fn timestamp(buf: &mut Vec<u8>, t: NaiveDateTime) {
    let micros = (t - EPOCH.and_time(chrono::NaiveTime::MIN))
        .num_microseconds()
        .expect("a chrono date-time is within ±2^63 µs of 2000");
    int8(buf, micros);
}

/// A `numeric` from its decimal text (`-12.5`, `3`, `0.0001`; digits, at most one point, no
/// exponent, as Rust prints an `f64`): the display scale is the digits after the point, as
/// `numeric`'s text input takes it, and the digits go in base 10,000 groups aligned on the
/// point. PostgreSQL strips the groups of zeros at either end on receipt, as on text input.
pub fn numeric(buf: &mut Vec<u8>, decimal: &str) {
    let (negative, digits) = match decimal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, decimal),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    debug_assert!(
        !int.is_empty() && (int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit()),
        "not a plain decimal: {decimal}"
    );
    // Whole groups: zeros before the integer digits, after the fraction's.
    let lead = (4 - int.len() % 4) % 4;
    let trail = (4 - frac.len() % 4) % 4;
    let ndigits = (lead + int.len() + frac.len() + trail) / 4;
    let weight = (lead + int.len()) / 4 - 1;
    let zero = int.bytes().chain(frac.bytes()).all(|b| b == b'0');
    let sign = if negative && !zero {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    };
    let len = i32::try_from(8 + 2 * ndigits).expect("an f64 has under 2^16 digits");
    buf.extend_from_slice(&len.to_be_bytes());
    let ndigits = u16::try_from(ndigits).expect("an f64 has under 2^16 digits");
    buf.extend_from_slice(&ndigits.to_be_bytes());
    let weight = i16::try_from(weight).expect("an f64 has under 2^17 integer digits");
    buf.extend_from_slice(&weight.to_be_bytes());
    buf.extend_from_slice(&sign.to_be_bytes());
    let dscale = u16::try_from(frac.len()).expect("an f64 has under 2^16 decimals");
    buf.extend_from_slice(&dscale.to_be_bytes());
    let all = std::iter::repeat_n(0, lead)
        .chain(int.bytes().chain(frac.bytes()).map(|b| b - b'0'))
        .chain(std::iter::repeat_n(0, trail));
    let mut group = 0_i16;
    for (i, d) in all.enumerate() {
        group = group * 10 + i16::from(d);
        if i % 4 == 3 {
            buf.extend_from_slice(&group.to_be_bytes());
            group = 0;
        }
    }
}

/// A `date`'s four bytes, without their length: days since 2000-01-01.
pub fn date_bytes(d: NaiveDate) -> [u8; 4] {
    let days = i32::try_from((d - EPOCH).num_days()).expect("a chrono date is within ±2^31 days");
    days.to_be_bytes()
}

pub fn date(buf: &mut Vec<u8>, d: NaiveDate) {
    buf.extend_from_slice(&4_i32.to_be_bytes());
    buf.extend_from_slice(&date_bytes(d));
}

/// A one-dimensional `integer[]` of `items` (`{}` when empty), without NULL elements.
pub fn int4_array(buf: &mut Vec<u8>, items: impl ExactSizeIterator<Item = i32>) {
    let n = items.len();
    let dims: usize = if n == 0 { 0 } else { 1 };
    // ndim, has-nulls flag, element type; per dimension its size and lower bound; the elements.
    let len = 12 + 8 * dims + 8 * n;
    let len = i32::try_from(len).expect("an array under 2 GB");
    buf.reserve(4 + len as usize);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(&(dims as i32).to_be_bytes());
    buf.extend_from_slice(&0_i32.to_be_bytes());
    buf.extend_from_slice(&INT4_OID.to_be_bytes());
    if dims == 1 {
        let n = i32::try_from(n).expect("an array under 2 GB");
        buf.extend_from_slice(&n.to_be_bytes());
        buf.extend_from_slice(&1_i32.to_be_bytes());
    }
    for v in items {
        int4(buf, v);
    }
}

/// Reads a buffer of this format back as text, the way PostgreSQL prints these types (for the
/// tests, which compare fields as text): `types` gives each field's reader. A table without
/// rows has no bytes at all.
#[cfg(test)]
pub fn parse(bytes: &[u8], types: &[Ty]) -> Vec<Vec<Option<String>>> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let mut rest = bytes
        .strip_prefix(HEADER.as_slice())
        .expect("the binary COPY header");
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at(n);
        rest = tail;
        head
    };
    let int = |b: &[u8]| i32::from_be_bytes(b.try_into().unwrap());
    let mut rows = Vec::new();
    loop {
        let fields = i16::from_be_bytes(take(2).try_into().unwrap());
        if fields == -1 {
            break;
        }
        assert_eq!(fields as usize, types.len(), "fields per row");
        let mut row = Vec::new();
        for ty in types {
            let len = int(take(4));
            if len == -1 {
                row.push(None);
                continue;
            }
            let field = take(len as usize);
            row.push(Some(match ty {
                Ty::Text => String::from_utf8(field.to_vec()).unwrap(),
                Ty::Int => int(field).to_string(),
                Ty::BigInt => i64::from_be_bytes(field.try_into().unwrap()).to_string(),
                Ty::Boolean => if field == [1] { "t" } else { "f" }.to_string(),
                Ty::Numeric => numeric_text(field),
                Ty::Timestamptz => {
                    let micros = i64::from_be_bytes(field.try_into().unwrap());
                    let t = EPOCH.and_time(chrono::NaiveTime::MIN)
                        + chrono::TimeDelta::microseconds(micros);
                    let mut text = Vec::new();
                    crate::day::push_iso_time(&mut text, t, true);
                    format!("{}+00", String::from_utf8(text).unwrap())
                }
                Ty::Date => (EPOCH + chrono::TimeDelta::days(int(field).into())).to_string(),
                Ty::IntArray => {
                    let dims = int(&field[0..4]);
                    assert_eq!(int(&field[8..12]) as u32, INT4_OID);
                    let items: Vec<String> = if dims == 0 {
                        Vec::new()
                    } else {
                        assert_eq!(dims, 1);
                        let n = int(&field[12..16]) as usize;
                        (0..n)
                            .map(|i| int(&field[20 + 8 * i + 4..20 + 8 * i + 8]).to_string())
                            .collect()
                    };
                    format!("{{{}}}", items.join(","))
                }
                other => panic!("no binary reader for {other:?}"),
            }));
        }
        rows.push(row);
    }
    assert!(rest.is_empty(), "bytes after the trailer");
    rows
}

/// A `numeric`'s binary form as the text PostgreSQL prints for it.
#[cfg(test)]
fn numeric_text(field: &[u8]) -> String {
    let u16_at = |i: usize| u16::from_be_bytes([field[i], field[i + 1]]);
    let (ndigits, weight) = (u16_at(0) as usize, u16_at(2) as i16);
    let (sign, dscale) = (u16_at(4), u16_at(6) as usize);
    let groups: Vec<u16> = (0..ndigits).map(|i| u16_at(8 + 2 * i)).collect();
    // Every digit from the group of weight max(weight, 0) down to the scale's last.
    let top = i32::from(weight.max(0));
    let mut int = String::new();
    let mut frac = String::new();
    for w in (-(dscale as i32 + 3) / 4..=top).rev() {
        let index = i32::from(weight) - w;
        let g = if (0..ndigits as i32).contains(&index) {
            groups[index as usize]
        } else {
            0
        };
        if w >= 0 {
            int.push_str(&format!("{g:04}"));
        } else {
            frac.push_str(&format!("{g:04}"));
        }
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    frac.truncate(dscale);
    let sign = if sign == NUMERIC_NEG { "-" } else { "" };
    if dscale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}
