//! Adversarial inputs: one module per part of the pipeline, each test named
//! after the hardening item it covers (`itemNN_...`). Inputs are kept at a
//! size that runs in seconds; bounds are asserted by counting work (bytes
//! held, operations, `Stats`), never by wall-clock time.

mod cli;
mod events;
mod front;
#[path = "../support/okta_value.rs"]
mod okta_value;
mod profiles;
mod state;
