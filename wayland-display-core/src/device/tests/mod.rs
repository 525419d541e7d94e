//! Tests of the whole module against fake machines.

mod container;
mod enumerate;
pub(crate) mod fake;
mod parse;
mod props;
mod select;
