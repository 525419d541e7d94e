//! One lobby: a pipeline around `waylanddisplaysrc`, the application it shows, and the
//! worker process that runs them for the host.

pub(crate) mod app;
pub(crate) mod container;
pub(crate) mod driver;
pub(crate) mod inbox;
pub(crate) mod pipeline;
pub(crate) mod protocol;
pub(crate) mod runner;
pub(crate) mod session;
pub(crate) mod worker;
