//! A synthetic lake in the real payload shapes (programme, participants, performances détaillées,
//! rapports définitifs; see pmu-api.md), deterministic from a seed, written one day at a time.
//! Horses come from a fixed pool, so the same horse runs on several days, as in real data.
//!
//! A development tool, outside the library: the load tests use it as `crate::support::synth`,
//! and the bench (`examples/bench.rs`) includes this very file with `#[path]`, so both see the
//! same lake. It reaches the product only through its public API (`pmu_lake::…`).

use anyhow::Result;
use chrono::Datelike;
use serde_json::{Value, json};

use pmu_lake::day::Day;
use pmu_lake::lake::{Lake, ObjectKey, RaceId, Stage};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub first_day: Day,
    pub days: u32,
    pub races_per_day: u32,
    pub runners: u32,
    pub seed: u64,
}

impl Spec {
    pub fn new(days: u32, races_per_day: u32) -> Spec {
        Spec {
            first_day: Day::from_ymd(2025, 1, 1).expect("a valid date"),
            days,
            races_per_day,
            runners: 14,
            seed: 0x5eed,
        }
    }

    /// The `i`-th day of the lake.
    pub fn day(&self, i: u32) -> Day {
        let mut day = self.first_day;
        for _ in 0..i {
            day = day.succ().expect("synthetic days stay in the calendar");
        }
        day
    }

    /// Horses to draw runners from: a horse runs about every three weeks, as French horses do
    /// (about 1,000 runners a day out of some 20,000 horses in training).
    fn pool(&self) -> u64 {
        u64::from(self.races_per_day * self.runners * 21).max(64)
    }
}

/// Whether the races of a day have been run when the objects are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaceState {
    /// Before the races: no arrival order, morning odds only, no rapports (a 204 marker).
    Scheduled,
    /// After: arrival order with a dead heat now and then, final odds, rapports.
    Finished,
}

/// Figures of what was written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    pub objects: u64,
    pub raw_bytes: u64,
    pub stored_bytes: u64,
}

/// Writes every day of `spec` into `lake`, finished.
pub fn write_lake(lake: &Lake, spec: &Spec) -> Result<Written> {
    let mut total = Written::default();
    for i in 0..spec.days {
        let w = write_day(lake, spec, i, RaceState::Finished)?;
        total.objects += w.objects;
        total.raw_bytes += w.raw_bytes;
        total.stored_bytes += w.stored_bytes;
    }
    Ok(total)
}

/// Writes day `i` of `spec`: the programme and, per race, participants, performances and
/// rapports (a 204 marker for the rapports of a race not run yet).
pub fn write_day(lake: &Lake, spec: &Spec, i: u32, state: RaceState) -> Result<Written> {
    let day = spec.day(i);
    let mut written = Written::default();
    let mut put = |key: ObjectKey, body: Value| -> Result<()> {
        let bytes = serde_json::to_vec(&body)?;
        let stored = lake.write_body(&key, &bytes)?;
        written.objects += 1;
        written.raw_bytes += stored.raw_bytes;
        written.stored_bytes += stored.stored_bytes;
        Ok(())
    };
    let races = races_of(spec, i, state);
    put(ObjectKey::programme(day), programme(day, &races))?;
    for race in &races {
        let id = RaceId::new(race.reunion.into(), race.course.into()).expect("small race numbers");
        put(
            ObjectKey::race(day, id, Stage::Participants),
            participants(race),
        )?;
        put(
            ObjectKey::race(day, id, Stage::Performances),
            performances(day, race),
        )?;
        if state == RaceState::Finished {
            put(ObjectKey::race(day, id, Stage::Rapports), rapports(race))?;
        } else {
            lake.write_marker(&ObjectKey::race(day, id, Stage::Rapports), 204)?;
        }
    }
    Ok(written)
}

/// splitmix64: small, fast, and the same on every machine.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

const SYLLABLES: [&str; 16] = [
    "KA", "LO", "MI", "RA", "TU", "BEL", "DOR", "VAN", "SI", "NE", "GRA", "PHO", "LYS", "ZE",
    "QUI", "MAR",
];
const HIPPODROMES: [(&str, &str); 6] = [
    ("VIN", "VINCENNES"),
    ("PET", "NANTES"),
    ("CAB", "CABOURG"),
    ("DEA", "DEAUVILLE"),
    ("LON", "PARISLONGCHAMP"),
    ("ENG", "ENGHIEN"),
];
const SEXES: [&str; 3] = ["HONGRES", "FEMELLES", "MALES"];
const DRIVERS: [&str; 8] = [
    "M. LELIEVRE",
    "E. RAFFIN",
    "J.M. BAZIRE",
    "F. NIVARD",
    "M. ABRIVARD",
    "Y. LEBOURGEOIS",
    "D. THOMAIN",
    "B. ROCHARD",
];

fn name(n: u64) -> String {
    let mut s = String::new();
    let mut n = n + 17;
    for _ in 0..3 {
        s.push_str(SYLLABLES[(n % 16) as usize]);
        n /= 16;
    }
    format!("{s} {}", n % 1000)
}

/// A horse of the pool: (name, dam, sire).
fn horse(n: u64) -> (String, String, String) {
    (name(n), name(n * 7 + 100_003), name(n * 13 + 200_003))
}

struct Race {
    reunion: u16,
    course: u16,
    hippodrome: usize,
    heure_depart_ms: i64,
    distance: i64,
    runners: Vec<u64>,
    /// numPmu of non-starters.
    non_partants: Vec<u32>,
    /// Arrival order as numPmu groups (dead heats share a group); empty before the race.
    arrivee: Vec<Vec<u32>>,
    odds: Vec<f64>,
    state: RaceState,
}

fn races_of(spec: &Spec, i: u32, state: RaceState) -> Vec<Race> {
    let day = spec.day(i);
    let mut rng = Rng::new(spec.seed ^ (u64::from(i) << 32));
    let per_meeting = 8u32;
    let mut races = Vec::new();
    for k in 0..spec.races_per_day {
        let reunion = (k / per_meeting + 1) as u16;
        let course = (k % per_meeting + 1) as u16;
        let mut runners: Vec<u64> = Vec::new();
        while runners.len() < spec.runners as usize {
            let h = rng.below(spec.pool());
            if !runners.contains(&h) {
                runners.push(h);
            }
        }
        let n = spec.runners;
        let non_partants: Vec<u32> = if rng.below(4) == 0 {
            vec![1 + rng.below(u64::from(n)) as u32]
        } else {
            vec![]
        };
        let mut order: Vec<u32> = (1..=n).filter(|p| !non_partants.contains(p)).collect();
        for j in (1..order.len()).rev() {
            order.swap(j, rng.below(j as u64 + 1) as usize);
        }
        let mut arrivee: Vec<Vec<u32>> = order.iter().take(7).map(|p| vec![*p]).collect();
        if rng.below(5) == 0 && arrivee.len() > 2 {
            let tied = arrivee.remove(2);
            arrivee[1].extend(tied); // dead heat for second place
        }
        let odds = (0..n).map(|_| (rng.range(11, 800) as f64) / 10.0).collect();
        races.push(Race {
            reunion,
            course,
            hippodrome: (reunion as usize - 1) % HIPPODROMES.len(),
            heure_depart_ms: day.paris_midnight_ms() + (12 * 60 + 30 * i64::from(course)) * 60_000,
            distance: rng.range(16, 30) * 100,
            runners,
            non_partants,
            arrivee: if state == RaceState::Finished {
                arrivee
            } else {
                vec![]
            },
            odds,

            state,
        });
    }
    races
}

fn programme(day: Day, races: &[Race]) -> Value {
    let midnight = day.paris_midnight_ms();
    let mut reunions: Vec<Value> = Vec::new();
    for r in races
        .iter()
        .map(|r| r.reunion)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let courses: Vec<&Race> = races.iter().filter(|x| x.reunion == r).collect();
        let (code, libelle) = HIPPODROMES[courses[0].hippodrome];
        let finished = courses[0].state == RaceState::Finished;
        reunions.push(json!({
            "numOfficiel": r, "numExterne": r, "dateReunion": midnight, "timezoneOffset": 3_600_000,
            "nature": "DIURNE", "audience": "NATIONAL",
            "statut": if finished { "TERMINEE" } else { "PROGRAMMEE" },
            "hippodrome": {"code": code, "libelleCourt": libelle, "libelleLong": format!("HIPPODROME DE {libelle}")},
            "pays": {"code": "FRA", "libelle": "FRANCE"},
            "disciplinesMere": ["TROT"], "specialites": ["TROT_ATTELE"],
            "cagnottes": [{"typePari": "QUINTE_PLUS", "numCourse": courses[0].course, "montant": 50_000, "cagnotteInternet": false}],
            "meteo": {"datePrevision": midnight, "nebulositeCode": "P5", "nebulositeLibelleCourt": "Très Nuageux",
                      "temperature": 12, "forceVent": 20, "directionVent": "NE"},
            "courses": courses.iter().map(|c| course(c, code, libelle)).collect::<Vec<_>>(),
        }));
    }
    json!({
        "programme": {"date": midnight, "timezoneOffset": 3_600_000, "reunions": reunions},
        "timestampPMU": {"timestamp": midnight + 8 * 3_600_000, "timezoneOffset": 3_600_000},
    })
}

fn course(c: &Race, code: &str, libelle: &str) -> Value {
    let finished = c.state == RaceState::Finished;
    let mut v = json!({
        "numOrdre": c.course, "numReunion": c.reunion, "numExterne": c.course, "numExterneReunion": c.reunion,
        "heureDepart": c.heure_depart_ms, "timezoneOffset": 3_600_000,
        "libelle": format!("PRIX DE {libelle} {}", c.course), "libelleCourt": format!("{libelle} {}", c.course),
        "montantPrix": 19000 + 1000 * i64::from(c.course), "montantTotalOffert": 19000, "montantOffert1er": 8550,
        "montantOffert2eme": 4750, "montantOffert3eme": 2660, "montantOffert4eme": 1520, "montantOffert5eme": 950,
        "distance": c.distance, "distanceUnit": "METRE", "parcours": "", "corde": "CORDE_GAUCHE",
        "discipline": "ATTELE", "specialite": "TROT_ATTELE", "categorieParticularite": "COURSE_A_CONDITIONS",
        "conditionSexe": "TOUS_CHEVAUX", "conditions": "Pour chevaux de 5 à 10 ans.",
        "nombreDeclaresPartants": c.runners.len(),
        "statut": if finished { "ARRIVEE_DEFINITIVE_COMPLETE" } else { "PROGRAMMEE" },
        "categorieStatut": if finished { "ARRIVEE" } else { "A_PARTIR" },
        "rapportsDefinitifsDisponibles": finished,
        "hippodrome": {"codeHippodrome": code, "libelleCourt": libelle, "libelleLong": format!("HIPPODROME DE {libelle}")},
        "participants": [], "ecuries": [],
        "paris": [
            {"typePari": "E_SIMPLE_GAGNANT", "codePari": "E_SIMPLE_GAGNANT", "miseBase": 100, "miseMax": 3_000_000, "enVente": true, "audience": "NATIONAL"},
            {"typePari": "SIMPLE_GAGNANT", "codePari": "SIMPLE_GAGNANT", "miseBase": 200, "miseMax": 9_999_999_999_i64, "enVente": true, "audience": "NATIONAL"},
        ],
    });
    if finished {
        v["arriveeDefinitive"] = json!(true);
        v["dureeCourse"] = json!(c.distance * 75);
        v["ordreArrivee"] = json!(c.arrivee);
        if !c.non_partants.is_empty() {
            v["incidents"] = json!([{"type": "NON_PARTANT", "numeroParticipants": c.non_partants}]);
        }
    }
    v
}

fn rank_of(race: &Race, num_pmu: u32) -> Option<usize> {
    let mut rank = 1;
    for group in &race.arrivee {
        if group.contains(&num_pmu) {
            return Some(rank);
        }
        rank += group.len();
    }
    None
}

fn participants(race: &Race) -> Value {
    let finished = race.state == RaceState::Finished;
    let runners: Vec<Value> = race
        .runners
        .iter()
        .enumerate()
        .map(|(i, &h)| {
            let num = i as u32 + 1;
            let (nom, mere, pere) = horse(h);
            let non_partant = race.non_partants.contains(&num);
            let mut v = json!({
                "numPmu": num, "idCheval": format!("{nom}-{mere}-{pere}"), "nom": nom, "nomPere": pere, "nomMere": mere,
                "age": 5 + h % 6, "sexe": SEXES[(h % 3) as usize], "race": "TROTTEUR FRANCAIS",
                "allure": "TROT", "statut": if non_partant { "NON_PARTANT" } else { "PARTANT" },
                "driver": DRIVERS[(h % 8) as usize], "driverChange": false, "entraineur": DRIVERS[((h / 8) % 8) as usize],
                "proprietaire": format!("ECURIE {}", h % 97), "oeilleres": "SANS_OEILLERES", "indicateurInedit": false,
                "musique": "6a3a7a6a8a", "nombreCourses": 10 + h % 40, "nombreVictoires": h % 7, "nombrePlaces": h % 11,
                "gainsParticipant": {"gainsCarriere": 1_403_500 + h as i64 * 100, "gainsVictoires": 900_000, "gainsPlace": 503_500,
                                     "gainsAnneeEnCours": 120_000, "gainsAnneePrecedente": 340_000},
                "handicapDistance": race.distance, "jumentPleine": false, "engagement": false, "supplement": 0,
                "urlCasaque": format!("https://example.invalid/casaques/P{num}.png"),
            });
            if !non_partant {
                let odds = race.odds[i];
                let kind = if finished { "REFERENCE" } else { "DIRECT" };
                v["dernierRapportReference"] = json!({"typePari": "SIMPLE_GAGNANT", "rapport": odds, "typeRapport": kind,
                    "dateRapport": race.heure_depart_ms - 60_000, "permutation": 1, "favoris": odds < 3.0, "numPmu1": num});
                v["dernierRapportDirect"] = json!({"typePari": "SIMPLE_GAGNANT", "rapport": if finished { odds + 0.5 } else { odds },
                    "typeRapport": "DIRECT", "indicateurTendance": "+", "nombreIndicateurTendance": 1.5,
                    "dateRapport": race.heure_depart_ms, "permutation": 1, "favoris": false, "numPmu1": num});
            }
            if finished {
                if non_partant {
                    v["incident"] = json!("NON_PARTANT");
                } else if let Some(rank) = rank_of(race, num) {
                    v["ordreArrivee"] = json!(rank);
                    v["tempsObtenu"] = json!(race.distance * 75 + rank as i64 * 40);
                    v["reductionKilometrique"] = json!(76_300 + rank as i64 * 100);
                }
            }
            v
        })
        .collect();
    json!({"participants": runners, "ecuries": [], "spriteCasaques": [], "cached": false})
}

/// Past races as a horse's real history would give them: each horse runs every `period` days,
/// and a report lists its last 5 to 9 runs before the race day. A past race is a function of
/// (horse, date), so the runs two reports share are the same rows, and every new run of the
/// horse adds one past race to its later reports.
fn performances(day: Day, race: &Race) -> Value {
    let today = i64::from(day.date().num_days_from_ce());
    let runners: Vec<Value> = race
        .runners
        .iter()
        .enumerate()
        .map(|(i, &h)| {
            let (nom, _, _) = horse(h);
            let past = 5 + (h % 5) as i64;
            let period = 14 + (h % 15) as i64;
            let phase = (h as i64 * 7919).rem_euclid(period);
            let last = today - 1 - (today - 1 - phase).rem_euclid(period);
            let courses: Vec<Value> = (0..past)
                .map(|k| past_race(h, &nom, last - k * period))
                .collect();
            json!({"numPmu": i + 1, "nomCheval": nom, "coursesCourues": courses})
        })
        .collect();
    json!({"allure": "TROT", "participants": runners})
}

/// The run of horse `h` on day `t` (days from the common era), as a performances row.
fn past_race(h: u64, nom: &str, t: i64) -> Value {
    let date = chrono::NaiveDate::from_num_days_from_ce_opt(t as i32)
        .map(|d| Day::new(d).paris_midnight_ms())
        .unwrap_or_default();
    let key = h.wrapping_add(t as u64);
    let (_, hippodrome) = HIPPODROMES[(key % 6) as usize];
    let place = 1 + key % 9;
    let others = (0..3u64).map(|j| {
        json!({"numPmu": null, "nomCheval": name(key * 3 + j), "nomJockey": DRIVERS[j as usize],
            "itsHim": false, "place": {"place": j + 1, "rawValue": null, "statusArrivee": "PLACE"},
            "reductionKilometrique": 7600 + j * 10, "distanceParcourue": 2700})
    });
    let him = json!({"numPmu": null, "nomCheval": nom, "nomJockey": DRIVERS[(h % 8) as usize], "itsHim": true,
        "place": {"place": if place > 7 { Value::Null } else { json!(place) }, "rawValue": null,
            "statusArrivee": if place > 7 { "NON_PLACE" } else { "PLACE" }},
        "reductionKilometrique": if key.is_multiple_of(2) { Value::Null } else { json!(7700 + place * 10) },
        "distanceParcourue": 2700});
    json!({"date": date, "timezoneOffset": 3_600_000, "hippodrome": titlecase(hippodrome),
        "nomPrix": format!("PRIX {}", name(key.wrapping_mul(31))), "discipline": "ATTELE", "allocation": 15_500,
        "distance": 2700, "nbParticipants": 13, "tempsDuPremier": 21_567,
        "participants": others.chain(std::iter::once(him)).collect::<Vec<_>>()})
}

fn titlecase(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn rapports(race: &Race) -> Value {
    let winners = race.arrivee.first().cloned().unwrap_or_default();
    let placed: Vec<u32> = race.arrivee.iter().flatten().take(3).copied().collect();
    let simple = |prefix: &str, mise: i64| {
        json!({
            "typePari": format!("{prefix}SIMPLE_GAGNANT"), "miseBase": mise, "rembourse": false, "audience": "NATIONAL",
            "famillePari": "Simple", "dividendeUnite": "PourUnEuro",
            "rapports": winners.iter().map(|w| json!({"libelle": "Simple gagnant", "combinaison": w.to_string(),
                "dividende": 310, "dividendePourUnEuro": 310, "dividendePourUneMiseDeBase": 310 * mise / 100,
                "nombreGagnants": 21_294.6})).collect::<Vec<_>>(),
        })
    };
    let place = json!({
        "typePari": "SIMPLE_PLACE", "miseBase": 200, "rembourse": false, "audience": "NATIONAL", "famillePari": "Simple",
        "dividendeUnite": "PourUnEuro",
        "rapports": placed.iter().map(|p| json!({"libelle": "Simple placé", "combinaison": p.to_string(),
            "dividende": 120, "dividendePourUnEuro": 120, "dividendePourUneMiseDeBase": 240, "nombreGagnants": 385})).collect::<Vec<_>>(),
    });
    let mut couple = vec![
        json!({"libelle": "Couplé gagnant", "combinaison": placed.iter().take(2).map(u32::to_string).collect::<Vec<_>>().join("-"),
        "dividende": 1540, "dividendePourUnEuro": 1540, "dividendePourUneMiseDeBase": 1540, "nombreGagnants": 52.5}),
    ];
    if let Some(np) = race.non_partants.first() {
        couple.push(json!({"libelle": "Couplé Gagnant 1 NP", "combinaison": format!("{}-NP", placed[0].max(*np)),
            "dividende": 0, "dividendePourUnEuro": 0}));
    }
    json!([
        simple("E_", 100),
        simple("", 200),
        place,
        {"typePari": "COUPLE_GAGNANT", "miseBase": 100, "rembourse": false, "audience": "NATIONAL", "famillePari": "Couple",
         "dividendeUnite": "PourUnEuro", "rapports": couple},
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_day_and_dead_heats_share_a_rank() {
        let spec = Spec::new(3, 20);
        let a = races_of(&spec, 1, RaceState::Finished);
        let b = races_of(&spec, 1, RaceState::Finished);
        assert_eq!(
            serde_json::to_string(&programme(spec.day(1), &a)).unwrap(),
            serde_json::to_string(&programme(spec.day(1), &b)).unwrap()
        );
        let tied = a
            .iter()
            .find(|r| r.arrivee.get(1).is_some_and(|g| g.len() == 2))
            .expect("20 races hold a dead heat");
        assert_eq!(
            rank_of(tied, tied.arrivee[1][0]),
            rank_of(tied, tied.arrivee[1][1])
        );
        assert_eq!(rank_of(tied, tied.arrivee[2][0]), Some(4));
    }

    #[test]
    fn scheduled_races_have_no_arrival_order() {
        let spec = Spec::new(1, 4);
        let races = races_of(&spec, 0, RaceState::Scheduled);
        assert!(races.iter().all(|r| r.arrivee.is_empty()));
        let p = participants(&races[0]);
        assert!(
            p["participants"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r.get("ordreArrivee").is_none())
        );
    }
}
