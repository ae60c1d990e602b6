//! `status` and `verify`: what the lake (and the database's ledger) holds, read from disk and
//! the database, never the network. [`survey`] judges a day's objects as extract does;
//! [`status`] reports it; [`verify`] reads every object back against the lake's contract.

pub mod status;
pub mod survey;
pub mod verify;
