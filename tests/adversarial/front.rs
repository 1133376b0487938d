//! Adversarial inputs: front.
