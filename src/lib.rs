//! pmu-lake: a faithful, replayable archive of the PMU turfinfo API (`extract`) and its bulk
//! load into PostgreSQL (`load`). Data flows one way: API → lake → rows → PostgreSQL.

pub mod api;
pub mod app;
pub mod check;
pub mod cli;
pub mod day;
pub mod db;
pub mod exit;
pub mod extract;
pub mod lake;
pub mod load;
pub mod pmu;

pub use app::run;
