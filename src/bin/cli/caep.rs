//! `replay --output caep`: each enforced verdict as the payload of a
//! Security Event Token (RFC 8417) carrying a CAEP event, the form in which
//! identity providers receive risk signals over the Shared Signals
//! Framework: a `suspend` or `deny` verdict is a `session-revoked` event, a
//! `flag` verdict a `risk-level-change` (its level from the verdict's
//! severity). The subject is the agent, as an SSF subject identifier
//! (RFC 9493, format `opaque`). The payloads are written as JSON, one a
//! line, unsigned: signing and delivery (RFC 8935 push) belong to the
//! transmitter that sends them.

use std::io::Write;

use riskgate::run::verdict::Verdict;
use riskgate::{Decision, Severity};
use serde_json::{json, Value};

/// CAEP's session-revoked event type.
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP's risk-level-change event type.
pub const RISK_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";

/// CAEP's risk level for a severity.
fn level(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Low) | None => "low",
        Some(Severity::Medium) => "medium",
        Some(Severity::High | Severity::Critical) => "high",
    }
}

/// The SET payload of verdict `v` (of the event with `uuid`, if it has
/// one), from `issuer`; `None` for a verdict that enforces nothing.
pub fn set_payload(issuer: &str, uuid: Option<&str>, v: &Verdict<'_>) -> Option<Value> {
    let (event_type, event) = match v.decision {
        Decision::Allow => return None,
        Decision::Flag => (RISK_LEVEL_CHANGE, "risk-level-change"),
        Decision::Suspend | Decision::Deny => (SESSION_REVOKED, "session-revoked"),
    };
    let seconds = v.time_ms.div_euclid(1000);
    let rules: Vec<&str> = v
        .matches()
        .filter(|m| !m.shadow())
        .map(|m| m.rule())
        .collect();
    let titles: Vec<&str> = v
        .matches()
        .filter(|m| !m.shadow())
        .map(|m| m.title().unwrap_or(m.rule()))
        .collect();
    let reason = format!("riskgate {}: {}", v.decision.as_str(), titles.join("; "));
    let body = if event == "session-revoked" {
        json!({
            "event_timestamp": seconds,
            "initiating_entity": "policy",
            "reason_admin": { "en": reason },
        })
    } else {
        json!({
            "event_timestamp": seconds,
            "principal": "WORKLOAD",
            "current_level": level(v.severity),
            "risk_reason": reason,
        })
    };
    let jti = match uuid {
        Some(u) => format!("{u}:{event}"),
        None => format!("{}:{}:{event}", v.agent, v.time_ms),
    };
    Some(json!({
        "iss": issuer,
        "jti": jti,
        "iat": seconds,
        "sub_id": { "format": "opaque", "id": v.agent },
        "events": { event_type: body },
        "txn": rules.join(","),
    }))
}

/// How the tokens are written: as JSON payloads, or signed.
pub enum Signer {
    /// Unsigned payloads, as JSON.
    None,
    /// Compact JWS (ES256, `typ: secevent+jwt`), with the key's id if given.
    #[cfg(feature = "caep-sign")]
    Es256(Box<jsonwebtoken::EncodingKey>, Option<String>),
}

impl Signer {
    /// The signer of the PEM (PKCS#8) P-256 private key at `path`, or
    /// unsigned without one.
    ///
    /// # Errors
    /// The key cannot be read or is not an EC private key, or this build
    /// has no signing (`caep-sign` feature).
    pub fn from_key(path: Option<&std::path::Path>, kid: Option<String>) -> Result<Self, String> {
        let Some(path) = path else {
            return Ok(Signer::None);
        };
        #[cfg(feature = "caep-sign")]
        {
            let pem = std::fs::read(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
            let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem)
                .map_err(|e| format!("`{}`: not an EC private key: {e}", path.display()))?;
            Ok(Signer::Es256(Box::new(key), kid))
        }
        #[cfg(not(feature = "caep-sign"))]
        {
            let _ = kid;
            Err(format!(
                "`{}`: this riskgate was built without signing (the `caep-sign` feature)",
                path.display()
            ))
        }
    }
}

/// Writes the SET of `v`, if it enforces something: its payload as JSON,
/// or signed by `signer`.
pub fn write_set(
    out: &mut impl Write,
    issuer: &str,
    signer: &Signer,
    text: &str,
    v: &Verdict<'_>,
) -> std::io::Result<()> {
    if v.decision == Decision::Allow {
        return Ok(());
    }
    let uuid = super::record::uuid_of(text);
    let Some(p) = set_payload(issuer, uuid.as_deref(), v) else {
        return Ok(());
    };
    match signer {
        Signer::None => serde_json::to_writer(&mut *out, &p)?,
        #[cfg(feature = "caep-sign")]
        Signer::Es256(key, kid) => {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
            header.typ = Some("secevent+jwt".to_string());
            header.kid = kid.clone();
            let token = jsonwebtoken::encode(&header, &p, key).map_err(std::io::Error::other)?;
            out.write_all(token.as_bytes())?;
        }
    }
    writeln!(out)
}
