//! Adversarial inputs: the `riskgate` binary (pipes, escaping, exit codes).
