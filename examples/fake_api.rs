//! Serves the fixture days of tests/fixtures/api as a fake PMU API until killed, for a manual
//! `make extract START=14032025 END=15032025 PMU_API_BASE=http://127.0.0.1:PORT`.
//!
//! `cargo run --example fake_api -- [--port N] [DAY…]` (default: every fixture day, any free
//! port). A DAY is a fixture day (`14032025`), or `FIXTURE@DDMMYYYY` to serve a fixture day under
//! another date (`14032025@01042025`), to make longer synthetic ranges. Prints the base URL on
//! stdout.

#[path = "../tests/support/fake_api.rs"]
#[allow(dead_code)]
mod fake_api;

fn main() {
    let mut port = 0u16;
    let mut days = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--port" {
            port = args.next().and_then(|p| p.parse().ok()).unwrap_or_else(|| {
                eprintln!("fake_api: --port needs a number");
                std::process::exit(2);
            });
        } else {
            days.push(arg);
        }
    }
    if days.is_empty() {
        days = fake_api::FIXTURE_DAYS
            .iter()
            .map(|d| d.to_string())
            .collect();
    }
    let api = fake_api::FakeApi::start_on(port);
    for day in &days {
        let (fixture, as_day) = day.split_once('@').unwrap_or((day, day));
        api.add_day(fixture, as_day);
    }
    println!("{}", api.base_url());
    eprintln!(
        "fake_api: serving {} on {} until killed",
        days.join(", "),
        api.base_url()
    );
    loop {
        std::thread::park();
    }
}
