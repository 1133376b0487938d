//! Adversarial inputs: state.
