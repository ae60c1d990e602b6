//! When an object of the lake can no longer change, so that a rerun need not ask for it again.
//! Pure decisions from the data (the programme's word on the race, the stored content) and from
//! time (fetched more than the grace period after the race day).

use crate::day::Day;
use crate::lake::Stage;
use crate::pmu::discovery::{self, Discovered, Race};

/// The verdict, with the reason written to the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finality {
    pub is_final: bool,
    pub reason: String,
}

impl Finality {
    fn yes(reason: impl Into<String>) -> Finality {
        Finality {
            is_final: true,
            reason: reason.into(),
        }
    }

    fn no(reason: impl Into<String>) -> Finality {
        Finality {
            is_final: false,
            reason: reason.into(),
        }
    }
}

/// What the lake holds (or just received) for an object.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    Body(&'a [u8]),
    /// An answer with no content (204, 404).
    Empty(u16),
}

/// The time rule: fetched (on Paris day `fetched`) more than `grace_days` after `day`.
fn past_grace(day: Day, fetched: Option<Day>, grace_days: u32) -> Option<Finality> {
    let fetched = fetched?;
    let after = day.days_until(fetched);
    (after > i64::from(grace_days))
        .then(|| Finality::yes(format!("fetched {after} days after the race day")))
}

/// A programme is final when the day is over and every race on it is over or cancelled, or when
/// it was fetched past the grace period. A programme of today or the future never is.
pub fn programme(
    day: Day,
    today: Day,
    found: &Discovered,
    fetched: Option<Day>,
    grace_days: u32,
) -> Finality {
    if day >= today {
        return Finality::no("the day is not over");
    }
    if let Some(f) = past_grace(day, fetched, grace_days) {
        return f;
    }
    if found.races.is_empty() {
        return Finality::no("no races listed yet");
    }
    match found.races.iter().filter(|r| !r.is_settled()).count() {
        0 => Finality::yes("every race is over or cancelled"),
        n => Finality::no(format!("{n} races not over yet")),
    }
}

/// A programme the API answered with no content (204, 404), asked on Paris day `fetched`. Past
/// the grace period the day has no programme for good (no racing that day); before that, and
/// for today or the future, the programme may still be published.
pub fn empty_programme(day: Day, fetched: Day, status: u16, grace_days: u32) -> Finality {
    let after = day.days_until(fetched);
    if after > i64::from(grace_days) {
        Finality::yes(format!(
            "no programme ({status}) {after} days after the day"
        ))
    } else if after <= 0 {
        Finality::no("the day is not over")
    } else {
        Finality::no(format!(
            "the day is {after} day{} old, within the {grace_days}-day grace period",
            if after == 1 { "" } else { "s" }
        ))
    }
}

/// A per-race object (participants, performances, rapports).
pub fn race_object(
    stage: Stage,
    race: &Race,
    content: Content<'_>,
    day: Day,
    fetched: Option<Day>,
    grace_days: u32,
) -> Finality {
    if let Some(f) = past_grace(day, fetched, grace_days) {
        return f;
    }
    if race.is_cancelled() {
        return Finality::yes("race cancelled");
    }
    match (stage, content) {
        (Stage::Rapports, Content::Body(body)) => match discovery::rapports_published(body) {
            Ok(true) => Finality::yes("rapports published"),
            Ok(false) => Finality::no("rapports not published yet (empty array)"),
            Err(e) => Finality::no(format!("unreadable rapports: {e}")),
        },
        (Stage::Rapports, Content::Empty(status)) => {
            Finality::no(format!("no rapports yet ({status})"))
        }
        (_, _) if !race.is_over() => Finality::no("race not over"),
        (Stage::Participants, Content::Body(body)) => {
            match discovery::participants_have_arrival(body) {
                Ok(true) => Finality::yes("race over, arrival known"),
                Ok(false) => Finality::no("race over but no arrival in the participants yet"),
                Err(e) => Finality::no(format!("unreadable participants: {e}")),
            }
        }
        (_, Content::Empty(status)) => Finality::yes(format!("race over, no content ({status})")),
        (_, Content::Body(_)) => Finality::yes("race over"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::RaceId;

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    fn race(statut: &str, rapports: bool) -> Race {
        Race {
            id: RaceId::new(1, 1).unwrap(),
            statut: Some(statut.into()),
            rapports_definitifs_disponibles: rapports,
            arrivee_definitive: false,
        }
    }

    fn found(races: Vec<Race>) -> Discovered {
        Discovered {
            races,
            ..Discovered::default()
        }
    }

    const OVER: &str = "ARRIVEE_DEFINITIVE_COMPLETE";

    #[test]
    fn programme_of_today_or_the_future_is_never_final() {
        let d = day("05112025");
        let all_over = found(vec![race(OVER, true)]);
        assert!(!programme(d, d, &all_over, Some(d), 0).is_final);
        assert!(!programme(d, day("04112025"), &all_over, Some(day("10112025")), 0).is_final);
        assert!(programme(d, day("06112025"), &all_over, None, 3).is_final);
    }

    #[test]
    fn programme_waits_for_every_race_unless_fetched_past_grace() {
        let d = day("05112025");
        let today = day("07112025");
        let mixed = found(vec![
            race(OVER, true),
            race("PROGRAMMEE", false),
            race("COURSE_ANNULEE", false),
        ]);
        assert_eq!(
            programme(d, today, &mixed, Some(d), 3).reason,
            "1 races not over yet"
        );
        assert!(!programme(d, today, &found(vec![]), None, 3).is_final);
        assert!(programme(d, day("20112025"), &mixed, Some(day("09112025")), 3).is_final);
        assert!(
            !programme(d, day("20112025"), &mixed, Some(day("08112025")), 3).is_final,
            "3 days is not past a grace of 3"
        );
    }

    #[test]
    fn a_missing_programme_is_final_only_past_the_grace_period() {
        let d = day("05112025");
        let f = |fetched: &str, grace| empty_programme(d, day(fetched), 404, grace);
        assert!(!f("05112025", 0).is_final, "today");
        assert!(!f("04112025", 3).is_final, "the future");
        assert!(
            !f("08112025", 3).is_final,
            "3 days is not past a grace of 3"
        );
        assert_eq!(
            f("08112025", 3).reason,
            "the day is 3 days old, within the 3-day grace period"
        );
        assert_eq!(
            f("09112025", 3).reason,
            "no programme (404) 4 days after the day"
        );
        assert!(f("06112025", 0).is_final);
        assert!(
            empty_programme(d, day("09112025"), 204, 3)
                .reason
                .contains("(204)")
        );
    }

    #[test]
    fn empty_rapports_mean_not_yet_and_published_ones_are_final() {
        let d = day("05112025");
        let r = race(OVER, true);
        let f = |c| race_object(Stage::Rapports, &r, c, d, Some(d), 3).is_final;
        assert!(!f(Content::Body(b"[]")));
        assert!(f(Content::Body(br#"[{"typePari":"SIMPLE_GAGNANT"}]"#)));
        assert!(!f(Content::Empty(404)));
        assert!(
            race_object(
                Stage::Rapports,
                &r,
                Content::Body(b"[]"),
                d,
                Some(day("10112025")),
                3
            )
            .is_final
        );
    }

    #[test]
    fn participants_are_final_once_the_race_is_over_with_an_arrival() {
        let d = day("05112025");
        let with = br#"{"participants":[{"numPmu":1,"ordreArrivee":1}]}"#;
        let without = br#"{"participants":[{"numPmu":1}]}"#;
        let f = |r: &Race, body: &[u8]| {
            race_object(Stage::Participants, r, Content::Body(body), d, Some(d), 3).is_final
        };
        assert!(f(&race(OVER, true), with));
        assert!(!f(&race(OVER, true), without));
        assert!(
            !f(&race("ARRIVEE_PROVISOIRE", false), with),
            "a provisional arrival can still change"
        );
        assert!(f(&race("COURSE_ANNULEE", false), without));
    }

    #[test]
    fn performances_and_markers_follow_the_race() {
        let d = day("05112025");
        let f = |r: &Race, c| race_object(Stage::Performances, r, c, d, None, 3).is_final;
        assert!(f(&race(OVER, true), Content::Empty(204)));
        assert!(f(&race(OVER, true), Content::Body(b"{}")));
        assert!(!f(&race("PROGRAMMEE", false), Content::Body(b"{}")));
        assert!(!f(&race("PROGRAMMEE", false), Content::Empty(204)));
    }
}
