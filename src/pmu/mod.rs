//! Serde models of the four PMU payloads, tolerant of every quirk listed in pmu-api.md.
