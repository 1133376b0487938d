//! Adversarial inputs: events.
