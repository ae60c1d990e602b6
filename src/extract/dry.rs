//! `extract --dry-run`: what a run would ask and how long it would take, from the lake alone.
//! It asks the API nothing, so a plan never costs the API twice: the races of a day whose
//! programme the lake does not hold are estimated (the average of the days it does hold, else a
//! typical day), and the line says so.

use anyhow::Result;

use super::Config;
use crate::check::survey::{self, Rules};
use crate::exit::Outcome;

pub(super) fn run(cfg: &Config) -> Result<Outcome> {
    let rules = Rules {
        today: cfg.today,
        grace_days: cfg.grace_days,
        refresh: cfg.refresh,
    };
    let (plan, known_days) = survey::plan(&cfg.lake, &cfg.range, &rules)?;
    let p = &cfg.client.politeness;
    let mut line = format!(
        "dry run {}..{} ({} days): {} requests needed ({} programmes, {} race objects), {} objects already held final; \
         about {} at --profile {} ({}); asked the API nothing",
        cfg.range.start,
        cfg.range.end,
        cfg.range.len(),
        plan.requests(),
        plan.programmes,
        plan.race_objects + plan.race_objects_estimated,
        plan.held_final,
        super::human_duration(p.estimate(plan.requests())),
        p.profile,
        p.describe()
    );
    if plan.days_races_unknown > 0 {
        line.push_str(&format!(
            "; {} of the race objects are an estimate for {} days whose programme the lake does not hold ({})",
            plan.race_objects_estimated,
            plan.days_races_unknown,
            plan.estimate_basis(known_days)
        ));
    }
    crate::exit::say(line)?;
    Ok(Outcome::Complete)
}
