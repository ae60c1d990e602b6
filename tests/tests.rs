//! The one integration-test binary: modules below share helpers from `support/`.

mod corpus;
mod db;
mod extract;
mod load;
mod status;
mod support;
