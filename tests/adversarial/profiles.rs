//! Adversarial inputs: profiles.
