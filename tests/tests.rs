//! The one integration-test binary: modules below share helpers from `support/`.

mod support;
mod db;
mod load;
mod extract;
mod corpus;
