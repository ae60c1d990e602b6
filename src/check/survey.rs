//! What the lake holds for each day, judged as `extract` judges it ([`crate::extract::held`]):
//! from one listing of the day's directory, its manifest, and its programme (small); never the
//! other bodies, except an object without a manifest line, which only its content can judge
//! (as extract does). Used by `status` and by `extract --dry-run`.

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::day::{Day, DayRange};
use crate::extract::held;
use crate::lake::{Held, Lake, ObjectKey, Stage};

/// Races a day when the lake cannot tell (no programme held anywhere in the range): about what
/// a French racing day has had since 2013 (0.8 million objects over 4,700 days, 3 per race).
pub const TYPICAL_RACES_PER_DAY: f64 = 56.0;

/// How to judge: the same knobs as extract's.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub today: Day,
    pub grace_days: u32,
    /// Nothing counts as final (`extract --refresh`).
    pub refresh: bool,
}

/// The objects of one per-race stage of a day, by what the lake holds for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StageCounts {
    /// Bodies held in final form.
    #[serde(rename = "final")]
    pub finals: u64,
    /// Held, body or marker, but not final: the next extract asks again.
    pub provisional: u64,
    /// Final markers: the API answered 204 or 404 for good.
    pub no_content: u64,
    /// Listed by the programme, nothing on disk.
    pub missing: u64,
}

impl StageCounts {
    pub fn add(&mut self, o: &StageCounts) {
        self.finals += o.finals;
        self.provisional += o.provisional;
        self.no_content += o.no_content;
        self.missing += o.missing;
    }

    pub fn complete(&self) -> bool {
        self.provisional == 0 && self.missing == 0
    }
}

/// The day's programme as held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeState {
    Final,
    /// A body that may still change (asked again).
    Provisional,
    /// A final marker: no racing that day.
    NoProgramme,
    /// A marker within the grace period (asked again).
    NoProgrammeYet,
    /// A body that does not read as a programme (asked again).
    Unreadable,
    Missing,
}

impl ProgrammeState {
    pub fn is_final(self) -> bool {
        matches!(self, ProgrammeState::Final | ProgrammeState::NoProgramme)
    }

    pub fn word(self) -> &'static str {
        match self {
            ProgrammeState::Final => "final",
            ProgrammeState::Provisional => "provisional",
            ProgrammeState::NoProgramme => "no programme",
            ProgrammeState::NoProgrammeYet => "none yet",
            ProgrammeState::Unreadable => "unreadable",
            ProgrammeState::Missing => "missing",
        }
    }
}

/// One day of the lake.
#[derive(Debug, Clone)]
pub struct DaySurvey {
    pub day: Day,
    pub programme: ProgrammeState,
    pub meetings: u64,
    pub races: u64,
    /// Whether the races are known (a programme body that reads, final or not).
    pub races_known: bool,
    /// Participants, performances, rapports, in that order.
    pub stages: [StageCounts; 3],
    /// Requests the next extract makes for this day's known objects (its programme, and the
    /// race objects of the races known); a day whose races are unknown needs more.
    pub requests: u64,
    /// Objects held in final form (the programme included), which the next extract skips.
    pub held_final: u64,
    /// Every body file of the day (what `load` reads): its key and its size as listed (`None`:
    /// unknown).
    pub bodies: Vec<(ObjectKey, Option<u64>)>,
}

impl DaySurvey {
    pub fn stage(&self, stage: Stage) -> &StageCounts {
        &self.stages[stage_index(stage)]
    }

    /// Everything final: the programme (or its absence) and every object of every race.
    pub fn complete(&self) -> bool {
        self.programme.is_final()
            && self.races_known_or_none()
            && self.stages.iter().all(StageCounts::complete)
    }

    fn races_known_or_none(&self) -> bool {
        self.races_known || self.programme == ProgrammeState::NoProgramme
    }
}

pub fn stage_index(stage: Stage) -> usize {
    Stage::PER_RACE
        .iter()
        .position(|s| *s == stage)
        .expect("only per-race stages are counted")
}

/// Judges one day.
pub fn day(lake: &Lake, day: Day, rules: &Rules) -> Result<DaySurvey> {
    let manifest = if rules.refresh {
        HashMap::new()
    } else {
        lake.read_manifest(day)?.entries
    };
    let mut held: HashMap<ObjectKey, Held> = HashMap::new();
    let mut bodies = Vec::new();
    if lake.day_dir(day).is_dir() {
        for o in lake
            .objects(day)
            .with_context(|| format!("listing the objects of {day}"))?
        {
            let h = match o.marker {
                Some(status) => Held::Marker(status, o.path),
                None => {
                    bodies.push((o.key, o.identity.map(|id| id.len)));
                    Held::Body(o.path)
                }
            };
            held.insert(o.key, h);
        }
    }
    let get = |key: &ObjectKey| held.get(key).cloned().unwrap_or(Held::Missing);
    let programme_held = get(&ObjectKey::programme(day));
    let judged = held::programme(
        day,
        &programme_held,
        &manifest,
        rules.today,
        rules.grace_days,
    );
    let is_final = judged.is_final && !rules.refresh;
    let state = match (&programme_held, is_final, &judged.found) {
        (Held::Missing, _, _) => ProgrammeState::Missing,
        (Held::Marker(..), true, _) => ProgrammeState::NoProgramme,
        (Held::Marker(..), false, _) => ProgrammeState::NoProgrammeYet,
        (Held::Body(_), _, None) => ProgrammeState::Unreadable,
        // A body beside a final marker: the API dropped a programme the lake holds.
        (Held::Body(_), true, Some(_)) => ProgrammeState::Final,
        (Held::Body(_), false, Some(_)) => ProgrammeState::Provisional,
    };
    let mut survey = DaySurvey {
        day,
        programme: state,
        meetings: 0,
        races: 0,
        races_known: judged.found.is_some(),
        stages: [StageCounts::default(); 3],
        requests: u64::from(!is_final),
        held_final: u64::from(is_final),
        bodies,
    };
    let Some(found) = judged.found else {
        return Ok(survey);
    };
    survey.races = found.races.len() as u64;
    survey.meetings = found
        .races
        .iter()
        .map(|r| r.id.reunion)
        .collect::<BTreeSet<_>>()
        .len() as u64;
    for race in &found.races {
        for stage in Stage::PER_RACE {
            let key = ObjectKey::race(day, race.id, stage);
            let h = get(&key);
            let fin =
                !rules.refresh && held::race_object(&key, race, &h, &manifest, rules.grace_days);
            let c = &mut survey.stages[stage_index(stage)];
            match (&h, fin) {
                (Held::Missing, _) => c.missing += 1,
                (Held::Body(_), true) => c.finals += 1,
                (Held::Marker(..), true) => c.no_content += 1,
                (_, false) => c.provisional += 1,
            }
            if fin {
                survey.held_final += 1;
            } else {
                survey.requests += 1;
            }
        }
    }
    Ok(survey)
}

/// What the next extract of a range would ask, without asking anything.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub days: u64,
    pub programmes: u64,
    /// Race objects of the races known from held programmes.
    pub race_objects: u64,
    /// Days whose races the lake cannot tell (no programme body held).
    pub days_races_unknown: u64,
    /// Races a day assumed for those: the average of the days whose races are known, else
    /// [`TYPICAL_RACES_PER_DAY`].
    pub races_per_unknown_day: f64,
    /// Race objects assumed for those days.
    pub race_objects_estimated: u64,
    pub held_final: u64,
}

impl Plan {
    pub fn requests(&self) -> u64 {
        self.programmes + self.race_objects + self.race_objects_estimated
    }

    /// Adds a day to the plan; call [`Plan::finish`] after the last.
    pub fn add(&mut self, d: &DaySurvey, known_races: &mut (u64, u64)) {
        self.days += 1;
        self.held_final += d.held_final;
        let programme = u64::from(!d.programme.is_final());
        self.programmes += programme;
        self.race_objects += d.requests - programme;
        if d.races_known {
            known_races.0 += d.races;
            known_races.1 += 1;
        } else if d.programme != ProgrammeState::NoProgramme {
            self.days_races_unknown += 1;
        }
    }

    /// Estimates the race objects of the days whose races are unknown.
    pub fn finish(&mut self, known_races: (u64, u64)) {
        self.races_per_unknown_day = if known_races.1 > 0 {
            known_races.0 as f64 / known_races.1 as f64
        } else {
            TYPICAL_RACES_PER_DAY
        };
        self.race_objects_estimated =
            (self.days_races_unknown as f64 * self.races_per_unknown_day * 3.0).round() as u64;
    }

    /// Where the races-a-day figure comes from, in words.
    pub fn estimate_basis(&self, known_days: u64) -> String {
        if known_days > 0 {
            format!(
                "{:.0} races a day, the average of the {known_days} days whose programme the lake holds",
                self.races_per_unknown_day
            )
        } else {
            format!(
                "{TYPICAL_RACES_PER_DAY:.0} races a day, a typical racing day (the lake holds no programme to count from)"
            )
        }
    }
}

/// The plan of `range`, day by day, streaming (one day in memory at a time).
pub fn plan(lake: &Lake, range: &DayRange, rules: &Rules) -> Result<(Plan, u64)> {
    let mut plan = Plan::default();
    let mut known = (0, 0);
    for d in range.days() {
        plan.add(&day(lake, d, rules)?, &mut known);
    }
    plan.finish(known);
    Ok((plan, known.1))
}
