//! `replay --output caep --signing-key` (the `caep-sign` feature): each
//! token is a compact JWS signed with ES256 whose header says
//! `typ: secevent+jwt` and the key id given, that verifies with the public
//! key of the signing key, and whose claims are exactly the unsigned
//! payload of the same verdict.

#![cfg(feature = "caep-sign")]

use std::path::PathBuf;
use std::process::Command;

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

fn replay(extra: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .args([
            "replay",
            "examples/rules/agents.rules",
            "examples/events/okta-day.jsonl",
            "--profiles",
            "examples/profiles/agents.json",
            "--output",
            "caep",
        ])
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn signed_tokens_verify_and_carry_the_payloads() {
    let unsigned = replay(&[]);
    let signed = replay(&[
        "--signing-key",
        "tests/fixtures/caep/es256-private.pem",
        "--key-id",
        "riskgate-test-1",
    ]);
    assert_eq!(signed.len(), unsigned.len());
    assert!(signed.len() > 100);
    let public = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/caep/es256-public.pem"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let key = DecodingKey::from_ec_pem(&public).unwrap_or_else(|e| panic!("{e}"));
    // A SET has no expiry and no audience here: verify the signature and
    // the algorithm only.
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    for (token, payload) in signed.iter().zip(&unsigned) {
        let header = decode_header(token).unwrap_or_else(|e| panic!("{e}: {token}"));
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
        assert_eq!(header.kid.as_deref(), Some("riskgate-test-1"));
        let claims = decode::<Value>(token, &key, &validation)
            .unwrap_or_else(|e| panic!("{e}: {token}"))
            .claims;
        let want: Value = serde_json::from_str(payload).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(claims, want);
    }
    // A token changed by one character no longer verifies.
    let mut forged = signed[0].clone().into_bytes();
    let at = forged.len() / 2;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap_or_default();
    assert!(decode::<Value>(&forged, &key, &validation).is_err());
}
