//! Helpers shared by the integration tests: fake PMU API, throwaway PostgreSQL, temp lakes,
//! synthetic lakes.
#![allow(dead_code)]
pub mod fake_api;
pub mod pg;
pub mod synth;
pub mod temp;
