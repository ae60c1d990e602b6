//! A race's rapports → `stg_race_bet` (each bet type) and `stg_bet_report` (its paid
//! combinations).

use chrono::NaiveDate;

use super::{BET_REPORT, Batch, RACE_BET};
use crate::lake::RaceId;
use crate::pmu::rapports::RapportsResponse;

impl Batch {
    /// Bet types without `typePari` have no key and are skipped with their reports.
    pub(super) fn rapports(&mut self, day: NaiveDate, race: RaceId, bets: &RapportsResponse) {
        for bet in &bets.0 {
            let Some(type_pari) = bet.type_pari.as_deref() else {
                continue;
            };
            let mut r = self.row(RACE_BET);
            r.race_key(day, race);
            r.pool(type_pari);
            r.int("mise_base_cts", bet.mise_base);
            r.boolean("rembourse", bet.rembourse);
            r.text("audience", bet.audience.as_deref());
            r.text("famille_pari", bet.famille_pari.as_deref());
            r.text("dividende_unite", bet.dividende_unite.as_deref());
            r.end();
            for rep in &bet.rapports {
                let mut r = self.row(BET_REPORT);
                r.race_key(day, race);
                r.text("type_pari", Some(type_pari));
                r.text(
                    "combinaison",
                    Some(rep.combinaison.as_deref().unwrap_or("")),
                );
                r.text("libelle", Some(rep.libelle.as_deref().unwrap_or("")));
                r.int("dividende_cts", rep.dividende);
                r.int("dividende_pour_un_euro_cts", rep.dividende_pour_un_euro);
                let per_base = rep.dividende_pour_une_mise_de_base;
                r.int("dividende_pour_une_mise_de_base_cts", per_base);
                let unit = rep.dividende_unite.as_deref();
                r.text("dividende_unite", unit.or(bet.dividende_unite.as_deref()));
                r.num("nombre_gagnants", rep.nombre_gagnants);
                r.end();
            }
        }
    }
}
