//! What the crawler needs from payloads: which races a programme lists (R =
//! `reunions[].numOfficiel`, C = `courses[].numOrdre`, never `numExterne`, never 1..n) and the
//! few fields that say whether a race is over, plus the "has it settled" checks on participants
//! and rapports bodies. The programme is read with the same tolerant model as `load` reads it
//! ([`ProgrammeResponse`]), so that the two never disagree on what a programme is.

use serde::Deserialize;

use super::programme::{Programme, ProgrammeResponse};
use crate::lake::RaceId;

/// A payload the crawler could not read at all.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not a programme payload ({{programme:{{…}}}} expected): {0}")]
    NotProgramme(serde_json::Error),
}

/// The races of one programme, in programme order, and what the programme says about them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovered {
    pub races: Vec<Race>,
    /// Courses whose R or C number is missing or out of range (they cannot be named on disk).
    pub unnamed: usize,
    /// Courses listed twice under the same R/C (the first is kept).
    pub duplicates: usize,
}

/// One race as the programme describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Race {
    pub id: RaceId,
    pub statut: Option<String>,
    pub rapports_definitifs_disponibles: bool,
    pub arrivee_definitive: bool,
}

impl Race {
    /// The race has run and its result is official: nothing about it should change any more.
    pub fn is_over(&self) -> bool {
        self.rapports_definitifs_disponibles
            || self.arrivee_definitive
            || self
                .statut
                .as_deref()
                .is_some_and(|s| s.starts_with("ARRIVEE_DEFINITIVE"))
    }

    /// The race will never run (`COURSE_ANNULEE` and the like).
    pub fn is_cancelled(&self) -> bool {
        self.statut.as_deref().is_some_and(|s| s.contains("ANNULE"))
    }

    /// Over or cancelled: the programme's last word on this race.
    pub fn is_settled(&self) -> bool {
        self.is_over() || self.is_cancelled()
    }
}

/// Reads the races of a programme body; what is a programme is [`ProgrammeResponse`]'s call.
pub fn discover(body: &[u8]) -> Result<Discovered, DiscoveryError> {
    let response = ProgrammeResponse::parse(body).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            DiscoveryError::Json(e)
        } else {
            DiscoveryError::NotProgramme(e)
        }
    })?;
    Ok(races(&response.programme))
}

/// The races a programme lists, in programme order.
pub fn races(programme: &Programme) -> Discovered {
    let mut found = Discovered::default();
    let mut seen = std::collections::HashSet::new();
    for reunion in &programme.reunions {
        for course in &reunion.courses {
            let id = reunion
                .num_officiel
                .zip(course.num_ordre)
                .and_then(|(r, c)| RaceId::new(r, c));
            let Some(id) = id else {
                found.unnamed += 1;
                continue;
            };
            if !seen.insert(id) {
                found.duplicates += 1;
                continue;
            }
            found.races.push(Race {
                id,
                statut: course.statut.clone(),
                rapports_definitifs_disponibles: course
                    .rapports_definitifs_disponibles
                    .unwrap_or(false),
                arrivee_definitive: course
                    .arrivee_definitive
                    .or(course.is_arrivee_definitive)
                    .unwrap_or(false),
            });
        }
    }
    found
}

#[derive(Deserialize)]
struct Participants {
    #[serde(default)]
    participants: Vec<Runner>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Runner {
    ordre_arrivee: Option<serde_json::Value>,
}

/// Whether a participants body carries an arrival (some runner has `ordreArrivee`).
pub fn participants_have_arrival(body: &[u8]) -> Result<bool, DiscoveryError> {
    let parsed: Participants = serde_json::from_slice(body)?;
    Ok(parsed
        .participants
        .iter()
        .any(|r| r.ordre_arrivee.as_ref().is_some_and(|v| !v.is_null())))
}

/// Whether a rapports body is published: a non-empty root array. `[]` means "not yet".
pub fn rapports_published(body: &[u8]) -> Result<bool, DiscoveryError> {
    let parsed: serde_json::Value = serde_json::from_slice(body)?;
    Ok(parsed.as_array().is_some_and(|a| !a.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(d: &Discovered) -> Vec<String> {
        d.races.iter().map(|r| r.id.to_string()).collect()
    }

    #[test]
    fn races_use_num_officiel_and_num_ordre_not_num_externe() {
        let body = br#"{"programme":{"reunions":[
            {"numOfficiel":10,"numExterne":10,"courses":[{"numOrdre":1,"numExterne":1}]},
            {"numOfficiel":11,"numExterne":10,"courses":[{"numOrdre":1,"numExterne":1},{"numOrdre":2}]},
            {"numOfficiel":2,"numExterne":2,"courses":[{"numOrdre":6},{"numOrdre":9}]}
        ]}}"#;
        let d = discover(body).unwrap();
        assert_eq!(ids(&d), ["R10C1", "R11C1", "R11C2", "R2C6", "R2C9"]);
    }

    #[test]
    fn accepts_missing_keys_and_numbers_as_strings() {
        let d = discover(
            br#"{"programme":{"reunions":[{"numOfficiel":"1","courses":[{"numOrdre":3},{"numOrdre":"4","isArriveeDefinitive":true}]},{"numOfficiel":2},null,{"numOfficiel":3,"courses":null}]}}"#,
        )
        .unwrap();
        assert_eq!(ids(&d), ["R1C3", "R1C4"]);
        assert!(!d.races[0].is_settled());
        assert!(d.races[1].is_over(), "isArriveeDefinitive counts");
        let d = discover(br#"{"programme":{"date":1}}"#).unwrap();
        assert_eq!(d, Discovered::default(), "no reunions: no races");
    }

    #[test]
    fn unnamed_and_duplicate_courses_are_counted_not_invented() {
        let body = br#"{"programme":{"reunions":[{"numOfficiel":1,"courses":[
            {"numOrdre":1},{"numOrdre":1},{"numOrdre":0},{"numOrdre":null},{}]}]}}"#;
        let d = discover(body).unwrap();
        assert_eq!((ids(&d).len(), d.unnamed, d.duplicates), (1, 3, 1));
    }

    #[test]
    fn rejects_what_is_not_a_programme() {
        assert!(matches!(
            discover(b"<html>denied</html>"),
            Err(DiscoveryError::Json(_))
        ));
        let bare = br#"{"date":1,"reunions":[{"numOfficiel":1,"courses":[{"numOrdre":3}]}]}"#;
        let wrapped =
            br#"[{"programme":{"reunions":[{"numOfficiel":1,"courses":[{"numOrdre":3}]}]}}]"#;
        for not_programme in [
            &bare[..],
            &wrapped[..],
            b"[]",
            br#"{"programme":null}"#,
            br#"{"programme":[]}"#,
            br#"{"programme":{"reunions":{}}}"#,
        ] {
            assert!(
                matches!(
                    discover(not_programme),
                    Err(DiscoveryError::NotProgramme(_))
                ),
                "{}",
                String::from_utf8_lossy(not_programme)
            );
        }
    }

    #[test]
    fn race_state_comes_from_statut_and_flags() {
        let body = br#"{"programme":{"reunions":[{"numOfficiel":1,"courses":[
            {"numOrdre":1,"statut":"ARRIVEE_DEFINITIVE_COMPLETE"},
            {"numOrdre":2,"statut":"FIN_COURSE","rapportsDefinitifsDisponibles":true},
            {"numOrdre":3,"statut":"COURSE_ANNULEE"},
            {"numOrdre":4,"statut":"ARRIVEE_PROVISOIRE"},
            {"numOrdre":5,"statut":"PROGRAMMEE","rapportsDefinitifsDisponibles":false}]}]}}"#;
        let d = discover(body).unwrap();
        let over: Vec<bool> = d.races.iter().map(Race::is_over).collect();
        let settled: Vec<bool> = d.races.iter().map(Race::is_settled).collect();
        assert_eq!(over, [true, true, false, false, false]);
        assert_eq!(settled, [true, true, true, false, false]);
    }

    #[test]
    fn arrivals_and_published_rapports_are_detected() {
        assert!(
            participants_have_arrival(
                br#"{"participants":[{"numPmu":1},{"numPmu":2,"ordreArrivee":1}]}"#
            )
            .unwrap()
        );
        assert!(
            !participants_have_arrival(br#"{"participants":[{"numPmu":1,"statut":"PARTANT"}]}"#)
                .unwrap()
        );
        assert!(rapports_published(br#"[{"typePari":"E_SIMPLE_GAGNANT","rapports":[]}]"#).unwrap());
        assert!(!rapports_published(b"[]").unwrap());
        assert!(rapports_published(b"{not json").is_err());
    }
}
