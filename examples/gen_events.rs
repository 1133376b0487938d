//! Deterministic generator of a realistic Okta System Log stream for AI agents and
//! service apps, with injected incidents and ground-truth labels.
//!
//! ```text
//! cargo run --release --example gen_events -- [--seed N] [--agents 50] [--events N]
//!     [--out DIR] [--name STEM] [--profiles PATH] [--date 2026-11-22] [--weeks]
//! ```
//!
//! Without `--events` and `--out` it rewrites the bundled files:
//! `examples/events/okta-day.jsonl`, `examples/events/okta-day.labels.jsonl` and
//! `examples/profiles/agents.json`. With `--events N` it writes a stream of about
//! N events (more agents, same per-agent rates) to `--out` (default `target/gen`)
//! as `okta-<N>.jsonl`, `okta-<N>.labels.jsonl` and `agents.json`, and leaves the
//! bundled files alone. The bundled run (or `--weeks`) also writes
//! `okta-weeks.jsonl` and `okta-weeks.labels.jsonl`: six weeks of twelve of the
//! agents at a few events a day, with incidents for the rules that need
//! history. The same arguments always give byte-identical files.
//!
//! Only `std` is used: a splitmix64 PRNG, a hand-written JSON writer (fixed key
//! order, whatever serde_json features the build enables) and, for the Poisson
//! draws, an `exp` built from IEEE-exact `+ - * /` so floating point gives the
//! same numbers on every platform. See `examples/events/README.md`.

use std::error::Error;
use std::fs;
use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

const MINUTES: i64 = 1440;
const MIN_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
const NONE: u32 = u32::MAX;

// ---------------------------------------------------------------------------
// Randomness: splitmix64, with independent streams per purpose and index.

#[derive(Clone)]
struct Rng(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const S_AGENT: u64 = 1;
const S_TRAFFIC: u64 = 2;
const S_HUMAN: u64 = 3;
const S_INCIDENT: u64 = 4;
const S_IDS: u64 = 5;
const S_ORG: u64 = 6;

impl Rng {
    fn stream(seed: u64, tag: u64, idx: u64) -> Rng {
        let mut r = Rng(mix(
            seed ^ mix(tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ mix(idx))
        ));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            xs.swap(i, j);
        }
    }
    fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            // Irwin–Hall normal approximation; sqrt is correctly rounded.
            let z: f64 = (0..12).map(|_| self.unit()).sum::<f64>() - 6.0;
            return (lambda + z * lambda.sqrt()).round().max(0.0) as u32;
        }
        let limit = exp_neg(lambda);
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= self.unit();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
    fn base62(&mut self, n: usize) -> String {
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..n).map(|_| A[self.below(62) as usize] as char).collect()
    }
}

/// `e^-x` for `x >= 0` from basic IEEE operations only (platform-independent).
fn exp_neg(x: f64) -> f64 {
    let mut y = x;
    let mut halvings = 0;
    while y > 0.125 {
        y *= 0.5;
        halvings += 1;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..20 {
        term *= -y / i as f64;
        sum += term;
    }
    for _ in 0..halvings {
        sum *= sum;
    }
    sum
}

// ---------------------------------------------------------------------------
// Calendar.

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn parse_date(s: &str) -> Result<i64, String> {
    let bad = || format!("bad --date `{s}`: expected YYYY-MM-DD");
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad());
    }
    let y: i64 = parts[0].parse().map_err(|_| bad())?;
    let m: i64 = parts[1].parse().map_err(|_| bad())?;
    let d: i64 = parts[2].parse().map_err(|_| bad())?;
    let days = days_from_civil(y, m, d);
    if !(1..=12).contains(&m) || civil_from_days(days) != (y, m, d) {
        return Err(bad());
    }
    Ok(days * DAY_MS)
}

/// Okta's `published` form: `2026-11-22T10:20:22.243Z`.
fn fmt_ts(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    let r = ms.rem_euclid(DAY_MS);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        r / 3_600_000,
        r / 60_000 % 60,
        r / 1000 % 60,
        r % 1000
    )
}

// ---------------------------------------------------------------------------
// A tiny JSON writer with a fixed key order.

fn esc(o: &mut String, s: &str) {
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
}

struct Obj<'a> {
    o: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(o: &'a mut String) -> Obj<'a> {
        o.push('{');
        Obj { o, first: true }
    }
    fn key(&mut self, k: &str) {
        if !self.first {
            self.o.push(',');
        }
        self.first = false;
        esc(self.o, k);
        self.o.push(':');
    }
    fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        esc(self.o, v);
        self
    }
    fn num(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        self.o.push_str(&v.to_string());
        self
    }
    fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.raw(k, if v { "true" } else { "false" })
    }
    fn raw(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        self.o.push_str(v);
        self
    }
    fn obj(&mut self, k: &str, f: impl FnOnce(&mut Obj<'_>)) -> &mut Self {
        self.key(k);
        let mut c = Obj::new(&mut *self.o);
        f(&mut c);
        c.end();
        self
    }
    fn end(self) {
        self.o.push('}');
    }
}

fn str_array(xs: &[&str]) -> String {
    let mut o = String::from("[");
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            o.push_str(", ");
        }
        esc(&mut o, x);
    }
    o.push(']');
    o
}

// ---------------------------------------------------------------------------
// Static catalogue: agents, places, user agents.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sched {
    /// Monitoring, sync and streaming services: busy around the clock, a bit more by day.
    Always,
    /// Interactive assistants and bots: the owner team's business hours.
    Business,
    /// CI/CD runners: bursts of a few requests per pipeline run in business hours.
    Ci,
    /// Batch jobs: a one-to-three-hour window between 00:00 and 04:30 UTC.
    Nightly,
}

impl Sched {
    fn name(self) -> &'static str {
        match self {
            Sched::Always => "always_on",
            Sched::Business => "business_hours",
            Sched::Ci => "ci_pipeline",
            Sched::Nightly => "nightly_batch",
        }
    }
}

struct Template {
    name: &'static str,
    team: &'static str,
    sched: Sched,
    scopes: &'static [&'static str],
    excluded: &'static [&'static str],
}

macro_rules! t {
    ($name:literal, $team:literal, $sched:ident, [$($s:literal),*], [$($x:literal),*]) => {
        Template { name: $name, team: $team, sched: Sched::$sched, scopes: &[$($s),*], excluded: &[$($x),*] }
    };
}

/// Every agent's excluded list also gets `okta:users:manage` (the seed's example).
const ESCALATION_SCOPE: &str = "okta:users:manage";

#[rustfmt::skip]
const TEMPLATES: &[Template] = &[
    t!("datadog-remediation-prod", "sre", Always, ["servicenow:incidents:create", "servicenow:incidents:update", "datadog:monitors:read", "datadog:events:create"], ["servicenow:users:admin", "datadog:api_keys:write"]),
    t!("github-actions-deployer", "platform", Ci, ["github:contents:read", "github:deployments:write", "k8s:deployments:update", "registry:images:pull"], ["github:admin:org", "k8s:clusterroles:write"]),
    t!("snowflake-etl-nightly", "data-eng", Nightly, ["snowflake:warehouse:use", "snowflake:tables:read", "snowflake:tables:write", "s3:objects:read"], ["snowflake:roles:grant", "snowflake:users:admin"]),
    t!("openai-support-agent", "support-ai", Business, ["zendesk:tickets:read", "zendesk:tickets:write", "kb:articles:read", "crm:contacts:read"], ["zendesk:users:admin", "crm:contacts:delete"]),
    t!("pagerduty-incident-bot", "sre", Always, ["pagerduty:incidents:write", "pagerduty:schedules:read", "slack:chat:write"], ["pagerduty:account:admin", "slack:admin"]),
    t!("servicenow-ticket-sync", "it-ops", Always, ["servicenow:incidents:read", "servicenow:incidents:update", "jira:issues:write"], ["servicenow:users:admin", "jira:admin"]),
    t!("terraform-cloud-runner", "platform", Ci, ["aws:sts:assume_role", "terraform:runs:apply", "terraform:state:read", "vault:secrets:read"], ["aws:iam:admin", "vault:sys:sudo"]),
    t!("jenkins-build-prod", "platform", Ci, ["git:repos:read", "registry:images:push", "artifacts:write"], ["registry:admin", "git:repos:delete"]),
    t!("argocd-sync-prod", "platform", Always, ["k8s:deployments:update", "k8s:configmaps:read", "git:repos:read"], ["k8s:secrets:read", "k8s:clusterroles:write"]),
    t!("slack-notify-bot", "it-ops", Business, ["slack:chat:write", "slack:channels:read", "users:profile:read"], ["slack:admin", "slack:users:write"]),
    t!("salesforce-crm-sync", "revops", Business, ["salesforce:accounts:read", "salesforce:opportunities:write", "crm:contacts:write"], ["salesforce:users:admin", "salesforce:setup:write"]),
    t!("zendesk-triage-agent", "support-ai", Business, ["zendesk:tickets:read", "zendesk:tickets:update", "zendesk:macros:read"], ["zendesk:users:admin", "zendesk:settings:write"]),
    t!("claude-code-review-agent", "devex", Business, ["github:pull_requests:write", "github:contents:read", "github:checks:write"], ["github:admin:org", "github:secrets:read"]),
    t!("langchain-research-agent", "ml-platform", Business, ["search:web:query", "kb:articles:read", "vectordb:collections:read"], ["vectordb:collections:delete", "kb:articles:delete"]),
    t!("airflow-dbt-nightly", "data-eng", Nightly, ["snowflake:warehouse:use", "snowflake:tables:write", "dbt:jobs:run", "airflow:dags:read"], ["snowflake:roles:grant", "dbt:account:admin"]),
    t!("fivetran-sync-prod", "data-eng", Always, ["postgres:replica:read", "snowflake:tables:write", "s3:objects:write"], ["postgres:roles:admin", "snowflake:roles:grant"]),
    t!("segment-events-ingest", "growth", Always, ["events:track:write", "kafka:topics:produce", "s3:objects:write"], ["kafka:acls:write", "s3:buckets:delete"]),
    t!("stripe-billing-reconciler", "finance-eng", Nightly, ["stripe:charges:read", "stripe:payouts:read", "ledger:entries:write"], ["stripe:refunds:write", "ledger:accounts:admin"]),
    t!("netsuite-ledger-export", "finance-eng", Nightly, ["netsuite:journals:read", "netsuite:vendors:read", "s3:objects:write"], ["netsuite:roles:admin", "netsuite:payments:write"]),
    t!("workday-hr-sync", "people-ops", Nightly, ["workday:workers:read", "scim:users:write", "scim:groups:write"], ["workday:compensation:read", "scim:users:delete"]),
    t!("okta-log-shipper", "security", Always, ["okta:logs:read", "okta:events:read", "siem:events:write"], ["okta:policies:manage"]),
    t!("splunk-hec-forwarder", "security", Always, ["splunk:hec:write", "siem:events:write", "splunk:indexes:read"], ["splunk:admin:all", "siem:rules:delete"]),
    t!("sentinel-soar-playbook", "security", Always, ["sentinel:incidents:write", "okta:users:read", "graph:users:read"], ["okta:sessions:manage", "graph:directory:write"]),
    t!("crowdstrike-falcon-connector", "security", Always, ["falcon:detections:read", "falcon:hosts:read", "siem:events:write"], ["falcon:rtr:admin", "falcon:prevention:write"]),
    t!("wiz-cloud-scanner", "cloudsec", Nightly, ["aws:config:read", "gcp:assets:read", "azure:resources:read"], ["aws:iam:admin", "gcp:iam:admin"]),
    t!("vault-secret-rotator", "security", Nightly, ["vault:secrets:write", "vault:leases:renew", "db:credentials:rotate"], ["vault:sys:sudo", "vault:policies:write"]),
    t!("kubernetes-external-secrets", "platform", Always, ["vault:secrets:read", "k8s:secrets:write", "k8s:namespaces:read"], ["vault:sys:sudo", "k8s:clusterroles:write"]),
    t!("backup-s3-nightly", "infra", Nightly, ["s3:objects:write", "ebs:snapshots:create", "rds:snapshots:create"], ["s3:buckets:delete", "kms:keys:schedule_deletion"]),
    t!("confluence-kb-indexer", "devex", Nightly, ["confluence:pages:read", "kb:articles:write", "vectordb:collections:write"], ["confluence:admin", "vectordb:collections:delete"]),
    t!("jira-sprint-bot", "devex", Business, ["jira:issues:write", "jira:boards:read", "slack:chat:write"], ["jira:admin", "jira:projects:delete"]),
    t!("gitlab-ci-release", "platform", Ci, ["gitlab:api:read", "registry:images:push", "k8s:deployments:update"], ["gitlab:admin:sudo", "k8s:clusterroles:write"]),
    t!("circleci-test-runner", "devex", Ci, ["git:repos:read", "artifacts:write", "test:results:write"], ["git:repos:delete", "artifacts:delete"]),
    t!("sonarqube-scan-bot", "appsec", Ci, ["sonar:projects:analyze", "git:repos:read", "github:checks:write"], ["sonar:admin", "github:admin:org"]),
    t!("snyk-dependency-scanner", "appsec", Nightly, ["git:repos:read", "snyk:projects:write", "jira:issues:write"], ["git:repos:delete", "snyk:org:admin"]),
    t!("looker-report-scheduler", "analytics", Business, ["looker:schedules:run", "bigquery:tables:read", "smtp:mail:send"], ["looker:admin", "bigquery:datasets:delete"]),
    t!("tableau-extract-refresh", "analytics", Nightly, ["tableau:extracts:refresh", "snowflake:tables:read", "snowflake:warehouse:use"], ["tableau:site:admin", "snowflake:roles:grant"]),
    t!("databricks-ml-training", "ml-platform", Nightly, ["databricks:jobs:run", "databricks:clusters:create", "s3:objects:read", "mlflow:models:write"], ["databricks:workspace:admin", "iam:roles:write"]),
    t!("sagemaker-inference-gw", "ml-platform", Always, ["sagemaker:endpoints:invoke", "cloudwatch:metrics:write", "s3:objects:read"], ["sagemaker:endpoints:delete", "iam:roles:write"]),
    t!("copilot-code-assistant", "devex", Business, ["github:contents:read", "github:pull_requests:read", "llm:completions:create"], ["github:secrets:read", "github:admin:org"]),
    t!("gemini-doc-summarizer", "knowledge", Business, ["drive:files:read", "docs:documents:read", "llm:completions:create"], ["drive:files:delete", "drive:permissions:write"]),
    t!("openai-sales-email-agent", "revops", Business, ["crm:contacts:read", "gmail:messages:send", "llm:completions:create"], ["crm:contacts:delete", "gmail:settings:write"]),
    t!("hubspot-lead-enricher", "growth", Business, ["hubspot:contacts:write", "clearbit:enrichment:read", "crm:contacts:read"], ["hubspot:users:admin", "hubspot:contacts:delete"]),
    t!("marketo-campaign-sync", "growth", Nightly, ["marketo:leads:write", "salesforce:campaigns:read", "crm:contacts:read"], ["marketo:admin", "salesforce:users:admin"]),
    t!("twilio-sms-dispatcher", "comms", Always, ["twilio:messages:create", "twilio:numbers:read", "crm:contacts:read"], ["twilio:account:admin", "twilio:numbers:write"]),
    t!("sendgrid-mail-relay", "comms", Always, ["sendgrid:mail:send", "sendgrid:templates:read", "sendgrid:stats:read"], ["sendgrid:api_keys:write", "sendgrid:users:admin"]),
    t!("grafana-alert-router", "sre", Always, ["grafana:alerts:read", "pagerduty:incidents:write", "slack:chat:write"], ["grafana:admin", "pagerduty:account:admin"]),
    t!("prometheus-remote-write", "sre", Always, ["metrics:series:write", "thanos:blocks:write", "metrics:rules:read"], ["thanos:blocks:delete", "metrics:tenants:admin"]),
    t!("elastic-log-ingest", "security", Always, ["elastic:indices:write", "elastic:pipelines:read", "elastic:ilm:read"], ["elastic:security:admin", "elastic:indices:delete"]),
    t!("kafka-connect-cdc", "data-eng", Always, ["kafka:topics:produce", "postgres:replica:read", "schema:subjects:write"], ["kafka:acls:write", "postgres:roles:admin"]),
    t!("bigquery-export-nightly", "analytics", Nightly, ["bigquery:tables:write", "bigquery:jobs:create", "gcs:objects:write"], ["bigquery:datasets:delete", "iam:roles:write"]),
];

struct Geo {
    city: &'static str,
    state: &'static str,
    country: &'static str,
    asn: i64,
    as_org: &'static str,
    /// Start of the 9-hour business day, in minutes after 00:00 UTC.
    biz_start: i64,
}

#[rustfmt::skip]
const HOME_GEOS: &[Geo] = &[
    Geo { city: "Ashburn", state: "Virginia", country: "United States", asn: 14618, as_org: "amazon.com, inc.", biz_start: 13 * 60 },
    Geo { city: "Boardman", state: "Oregon", country: "United States", asn: 16509, as_org: "amazon.com, inc.", biz_start: 16 * 60 },
    Geo { city: "Council Bluffs", state: "Iowa", country: "United States", asn: 15169, as_org: "google llc", biz_start: 14 * 60 },
    Geo { city: "Dublin", state: "Leinster", country: "Ireland", asn: 16509, as_org: "amazon.com, inc.", biz_start: 8 * 60 },
    Geo { city: "Frankfurt am Main", state: "Hesse", country: "Germany", asn: 8075, as_org: "microsoft corporation", biz_start: 7 * 60 },
];
/// Offices of the human users (their traffic goes out through the corporate VPN).
#[rustfmt::skip]
const OFFICE_GEOS: &[Geo] = &[
    Geo { city: "New York", state: "New York", country: "United States", asn: 701, as_org: "verizon business", biz_start: 13 * 60 },
    Geo { city: "San Francisco", state: "California", country: "United States", asn: 7922, as_org: "comcast cable communications, llc", biz_start: 16 * 60 },
    Geo { city: "Chicago", state: "Illinois", country: "United States", asn: 7018, as_org: "at&t services, inc.", biz_start: 14 * 60 },
    Geo { city: "Dublin", state: "Leinster", country: "Ireland", asn: 5466, as_org: "eircom limited", biz_start: 8 * 60 },
    Geo { city: "Berlin", state: "Land Berlin", country: "Germany", asn: 3320, as_org: "deutsche telekom ag", biz_start: 7 * 60 },
];

/// Relative weights of the home regions above.
const HOME_WEIGHTS: &[u64] = &[35, 25, 15, 15, 10];

/// Where stolen credentials get used from: none of these is a home country.
#[rustfmt::skip]
const FOREIGN_GEOS: &[Geo] = &[
    Geo { city: "Amsterdam", state: "North Holland", country: "Netherlands", asn: 14061, as_org: "digitalocean, llc", biz_start: 0 },
    Geo { city: "Bucharest", state: "Bucuresti", country: "Romania", asn: 9009, as_org: "m247 europe srl", biz_start: 0 },
    Geo { city: "Sao Paulo", state: "Sao Paulo", country: "Brazil", asn: 28573, as_org: "claro nxt telecomunicacoes ltda", biz_start: 0 },
    Geo { city: "Singapore", state: "Central Singapore", country: "Singapore", asn: 45102, as_org: "alibaba (us) technology co., ltd.", biz_start: 0 },
    Geo { city: "Moscow", state: "Moscow", country: "Russia", asn: 49505, as_org: "selectel ltd.", biz_start: 0 },
    Geo { city: "Hanoi", state: "Hanoi", country: "Vietnam", asn: 7552, as_org: "viettel group", biz_start: 0 },
];

const AGENT_UAS: &[&str] = &[
    "python-requests/2.31.0",
    "python-httpx/0.27.0",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5",
    "axios/1.7.2",
    "Apache-HttpClient/4.5.14 (Java/17.0.11)",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "Faraday v2.9.0",
    "curl/8.5.0",
];
const ATTACKER_UAS: &[&str] = &["curl/8.4.0", "python-requests/2.32.3", "Go-http-client/1.1"];
const BROWSER_UAS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:132.0) Gecko/20100101 Firefox/132.0",
];
const AUTH_TYPES: &[&str] = &["tls_client_auth", "private_key_jwt", "client_secret_basic"];
const FAIL_REASONS: &[&str] = &["invalid_client", "temporarily_unavailable"];
const BAD_ISSUERS: &[&str] = &["self-signed", "letsencrypt-r11", "CN=build-runner-local"];
const SSO_APPS: &[&str] = &[
    "Datadog",
    "GitHub Enterprise",
    "Snowflake",
    "Slack",
    "AWS IAM Identity Center",
    "Jira Cloud",
];
const FIRST: &[&str] = &[
    "alice", "bob", "carmen", "deepak", "elena", "farid", "grace", "hiro", "ines", "jonas", "kemi",
    "liam",
];
const LAST: &[&str] = &[
    "nguyen", "schmidt", "okafor", "garcia", "kowalski", "tanaka", "murphy", "silva", "haddad",
    "larsen",
];

// ---------------------------------------------------------------------------
// The model.

enum Net {
    /// A /24 in 10.0.0.0/8 or 192.168.0.0/16.
    V4([u8; 3]),
    /// A /64 in 2001:db8::/32.
    V6([u16; 4]),
}

impl Net {
    fn cidr(&self) -> String {
        match self {
            Net::V4([a, b, c]) => format!("{a}.{b}.{c}.0/24"),
            Net::V6([a, b, c, d]) => format!("{}/64", Ipv6Addr::new(*a, *b, *c, *d, 0, 0, 0, 0)),
        }
    }
    fn host(&self, h: u16) -> String {
        match self {
            Net::V4([a, b, c]) => Ipv4Addr::new(*a, *b, *c, h as u8).to_string(),
            Net::V6([a, b, c, d]) => Ipv6Addr::new(*a, *b, *c, *d, 0, 0, 0, h).to_string(),
        }
    }
}

struct Home {
    geo: usize,
    net: Net,
    hosts: Vec<u16>,
}

struct Agent {
    id: String,
    name: String,
    team: &'static str,
    sched: Sched,
    scopes: Vec<&'static str>,
    excluded: Vec<&'static str>,
    lifetime: u32,
    auth: &'static str,
    homes: Vec<Home>,
    ua: &'static str,
    cert_age: u32,
    /// `None` for `tls_client_auth` (no shared secret to rotate).
    secret_age: Option<u32>,
    per_day: f64,
    biz_start: i64,
    batch_start: i64,
    batch_len: i64,
}

impl Agent {
    fn new(seed: u64, idx: usize) -> Agent {
        let mut r = Rng::stream(seed, S_AGENT, idx as u64);
        let tpl = &TEMPLATES[idx % TEMPLATES.len()];
        let name = if idx < TEMPLATES.len() {
            tpl.name.to_string()
        } else {
            format!("{}-{:04}", tpl.name, idx / TEMPLATES.len())
        };
        let id = format!("0oa{}", r.base62(17));
        let primary = weighted(&mut r, HOME_WEIGHTS);
        let mut geos = vec![primary];
        if r.chance(0.2) {
            let second = weighted(&mut r, HOME_WEIGHTS);
            if second != primary {
                geos.push(second);
            }
        }
        let homes = geos
            .into_iter()
            .map(|geo| {
                let net = match r.below(10) {
                    0..=5 => Net::V4([10, r.below(256) as u8, r.below(256) as u8]),
                    6..=7 => Net::V4([192, 168, r.below(256) as u8]),
                    _ => Net::V6([
                        0x2001,
                        0xdb8,
                        r.range(1, 0xffff) as u16,
                        r.below(0x100) as u16,
                    ]),
                };
                let n = r.range(1, 4);
                let hosts = (0..n).map(|_| r.range(10, 250) as u16).collect();
                Home { geo, net, hosts }
            })
            .collect::<Vec<_>>();
        let auth = AUTH_TYPES[weighted(&mut r, &[40, 35, 25])];
        let per_day = match tpl.sched {
            Sched::Always => r.range(65, 130),
            Sched::Business => r.range(45, 110),
            Sched::Ci => r.range(40, 90),
            Sched::Nightly => r.range(50, 125),
        } as f64;
        let biz_start = HOME_GEOS[homes[0].geo].biz_start + r.range(0, 4) as i64 * 15 - 30;
        Agent {
            id,
            name,
            team: tpl.team,
            sched: tpl.sched,
            scopes: tpl.scopes.to_vec(),
            excluded: {
                let mut x = tpl.excluded.to_vec();
                x.push(ESCALATION_SCOPE);
                x
            },
            lifetime: if r.chance(0.6) { 15 } else { 60 },
            ua: pick_str(&mut r, AGENT_UAS),
            cert_age: r.range(1, 85) as u32,
            secret_age: (auth != "tls_client_auth").then(|| r.range(1, 85) as u32),
            auth,
            homes,
            per_day,
            biz_start,
            batch_start: r.range(0, 14) as i64 * 15,
            batch_len: r.range(60, 180) as i64,
        }
    }

    fn countries(&self) -> Vec<&'static str> {
        let mut c: Vec<&'static str> = Vec::new();
        for h in &self.homes {
            let n = HOME_GEOS[h.geo].country;
            if !c.contains(&n) {
                c.push(n);
            }
        }
        c
    }

    /// Relative request rate in each minute of the day.
    fn weights(&self) -> Vec<f64> {
        (0..MINUTES)
            .map(|m| match self.sched {
                Sched::Always => {
                    let peak = (self.biz_start + 270).rem_euclid(MINUTES);
                    let d = (m - peak).rem_euclid(MINUTES);
                    let d = d.min(MINUTES - d) as f64;
                    0.5 + 0.5 * (1.0 - d / 720.0)
                }
                Sched::Business | Sched::Ci => {
                    let rel = (m - self.biz_start).rem_euclid(MINUTES);
                    if rel < 540 {
                        let edge = rel.min(539 - rel) as f64;
                        if edge < 45.0 {
                            0.3 + 0.7 * edge / 45.0
                        } else {
                            1.0
                        }
                    } else {
                        0.03
                    }
                }
                Sched::Nightly => {
                    if m >= self.batch_start && m < self.batch_start + self.batch_len {
                        1.0
                    } else {
                        0.015
                    }
                }
            })
            .collect()
    }

    fn profile_json(&self) -> String {
        let mut o = String::new();
        let mut j = Obj::new(&mut o);
        j.str("agent_id", &self.id)
            .str("name", &self.name)
            .raw("scopes", &str_array(&self.scopes))
            .raw("excluded_scopes", &str_array(&self.excluded))
            .num("token_lifetime_minutes", self.lifetime as i64)
            .str("owner_team", self.team)
            .raw("allowed_countries", &str_array(&self.countries()));
        let nets: Vec<String> = self.homes.iter().map(|h| h.net.cidr()).collect();
        let nets: Vec<&str> = nets.iter().map(String::as_str).collect();
        j.raw("home_networks", &str_array(&nets))
            .str("client_auth_type", self.auth)
            .str("schedule", self.sched.name());
        j.end();
        o
    }
}

fn pick_str(r: &mut Rng, xs: &[&'static str]) -> &'static str {
    xs[r.below(xs.len() as u64) as usize]
}

fn weighted(r: &mut Rng, w: &[u64]) -> usize {
    let mut x = r.below(w.iter().sum());
    for (i, &wi) in w.iter().enumerate() {
        if x < wi {
            return i;
        }
        x -= wi;
    }
    w.len() - 1
}

struct Human {
    id: String,
    login: String,
    display: String,
    ua: &'static str,
    ip: String,
    geo: usize,
}

impl Human {
    fn new(seed: u64, idx: usize) -> Human {
        let mut r = Rng::stream(seed, S_HUMAN, idx as u64);
        let first = FIRST[idx % FIRST.len()];
        let last = *r.pick(LAST);
        let suffix = if idx < FIRST.len() {
            String::new()
        } else {
            (idx / FIRST.len()).to_string()
        };
        let cap = |s: &str| {
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        };
        let display = format!("{} {}", cap(first), cap(last));
        Human {
            id: format!("00u{}", r.base62(17)),
            login: format!("{first}.{last}{suffix}@example.com"),
            display,
            ua: pick_str(&mut r, BROWSER_UAS),
            ip: Ipv4Addr::new(10, 200, r.below(8) as u8, r.range(10, 250) as u8).to_string(),
            geo: weighted(&mut r, HOME_WEIGHTS),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    NewNetwork,
    NightBurst,
    ScopeEscalation,
    ExpiredCert,
    LongToken,
}

const KINDS: [Kind; 5] = [
    Kind::NewNetwork,
    Kind::NightBurst,
    Kind::ScopeEscalation,
    Kind::ExpiredCert,
    Kind::LongToken,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::NewNetwork => "new_network",
            Kind::NightBurst => "night_burst",
            Kind::ScopeEscalation => "scope_escalation",
            Kind::ExpiredCert => "expired_cert",
            Kind::LongToken => "long_token",
        }
    }
}

struct Incident {
    kind: Kind,
    agent: usize,
    lines: Vec<u64>,
    start: i64,
    end: i64,
}

enum Ip {
    Home { home: u8, host: u16 },
    Ext(String),
}

#[derive(Clone, Copy)]
enum GeoRef {
    Home(usize),
    Foreign(usize),
}

impl GeoRef {
    fn geo(self) -> &'static Geo {
        match self {
            GeoRef::Home(i) => &HOME_GEOS[i],
            GeoRef::Foreign(i) => &FOREIGN_GEOS[i],
        }
    }
}

/// A client-credentials token grant.
struct Grant {
    ip: Ip,
    geo: GeoRef,
    /// Bit set over the agent's profile scopes.
    requested: u64,
    /// One scope outside the profile, requested in a scope escalation.
    extra: Option<&'static str>,
    extra_granted: bool,
    fail: Option<&'static str>,
    issuer: &'static str,
    cert_age: u32,
    lifetime: u32,
    ua: Option<&'static str>,
    /// `secretAgeDays` when it is not the agent's fixed age (the weeks stream
    /// rotates secrets weekly).
    secret_age: Option<u32>,
    /// `authenticationContext.externalSessionId` (the weeks stream's AI
    /// assistants work in one session a day).
    session: Option<String>,
}

enum Body {
    Grant(Box<Grant>),
    /// The agent rotates its own client secret (weeks stream).
    Rotation,
    Session,
    Sso(usize),
}

struct Ev {
    t: i64,
    seq: u32,
    actor: u32,
    incident: u32,
    body: Body,
}

fn normal_grant(a: &Agent, r: &mut Rng) -> Grant {
    let hi = if a.homes.len() > 1 && r.chance(0.3) {
        1
    } else {
        0
    };
    let home = &a.homes[hi];
    let host = *r.pick(&home.hosts);
    let full = (1u64 << a.scopes.len()) - 1;
    let requested = if r.chance(0.7) {
        full
    } else {
        r.range(1, full)
    };
    Grant {
        ip: Ip::Home {
            home: hi as u8,
            host,
        },
        geo: GeoRef::Home(home.geo),
        requested,
        extra: None,
        extra_granted: false,
        fail: r.chance(0.008).then(|| *r.pick(FAIL_REASONS)),
        issuer: "internal-ca",
        cert_age: a.cert_age,
        lifetime: a.lifetime,
        ua: None,
        secret_age: None,
        session: None,
    }
}

// ---------------------------------------------------------------------------
// Generation.

struct World {
    seed: u64,
    day0: i64,
    agents: Vec<Agent>,
    humans: Vec<Human>,
    events: Vec<Ev>,
    incidents: Vec<Incident>,
    seq: u32,
    /// Length of the stream from `day0` (one day, or the weeks).
    span: i64,
}

impl World {
    fn push(&mut self, t: i64, actor: usize, incident: u32, body: Body) {
        if t < self.day0 || t >= self.day0 + self.span {
            return;
        }
        self.events.push(Ev {
            t,
            seq: self.seq,
            actor: actor as u32,
            incident,
            body,
        });
        self.seq += 1;
    }

    fn normal_traffic(&mut self) {
        for ai in 0..self.agents.len() {
            let mut r = Rng::stream(self.seed, S_TRAFFIC, ai as u64);
            let w = self.agents[ai].weights();
            let total: f64 = w.iter().sum();
            let per_day = self.agents[ai].per_day;
            let mut times = Vec::new();
            if self.agents[ai].sched == Sched::Ci {
                // Pipeline runs of 3-8 token requests a few seconds apart.
                let mut cum = Vec::with_capacity(w.len());
                let mut acc = 0.0;
                for x in &w {
                    acc += x;
                    cum.push(acc);
                }
                for _ in 0..r.poisson(per_day / 5.5) {
                    let u = r.unit() * acc;
                    let m = cum.partition_point(|&c| c <= u).min(w.len() - 1) as i64;
                    let mut t = self.day0 + m * MIN_MS + r.below(MIN_MS as u64) as i64;
                    for _ in 0..r.range(3, 8) {
                        times.push(t);
                        t += r.range(8_000, 45_000) as i64;
                    }
                }
            } else {
                for (m, x) in w.iter().enumerate() {
                    for _ in 0..r.poisson(per_day * x / total) {
                        times.push(self.day0 + m as i64 * MIN_MS + r.below(MIN_MS as u64) as i64);
                    }
                }
            }
            for t in times {
                let g = normal_grant(&self.agents[ai], &mut r);
                self.push(t, ai, NONE, Body::Grant(Box::new(g)));
            }
        }
        let base = self.agents.len();
        for hi in 0..self.humans.len() {
            let mut r = Rng::stream(self.seed, S_HUMAN ^ 0x100, hi as u64);
            let start = OFFICE_GEOS[self.humans[hi].geo].biz_start + r.range(0, 60) as i64;
            for s in 0..r.range(1, 2) as i64 {
                let t = self.day0 + (start + s * 270) * MIN_MS + r.below(MIN_MS as u64) as i64;
                self.push(t, base + hi, NONE, Body::Session);
            }
            for _ in 0..r.range(4, 12) {
                let m = start + r.range(2, 530) as i64;
                let t = self.day0 + m.rem_euclid(MINUTES) * MIN_MS + r.below(MIN_MS as u64) as i64;
                let app = r.below(SSO_APPS.len() as u64) as usize;
                self.push(t, base + hi, NONE, Body::Sso(app));
            }
        }
    }

    /// Minute (of the day) of each normal event of each agent, sorted.
    fn minutes_by_agent(&self) -> Vec<Vec<i64>> {
        let mut v = vec![Vec::new(); self.agents.len()];
        for e in &self.events {
            if (e.actor as usize) < self.agents.len() && e.incident == NONE {
                v[e.actor as usize].push((e.t - self.day0) / MIN_MS);
            }
        }
        for x in &mut v {
            x.sort_unstable();
        }
        v
    }

    fn inject_incidents(&mut self, per_kind: usize) {
        let mut r = Rng::stream(self.seed, S_INCIDENT, 0);
        let n = self.agents.len();
        let mut pool: Vec<usize> = (0..n).collect();
        r.shuffle(&mut pool);
        let mut used_agents = vec![false; n];
        let mut used_minutes: Vec<i64> = Vec::new();
        let minutes = self.minutes_by_agent();
        let far = |used: &[i64], m: i64, strict: bool| {
            !strict || used.iter().all(|&u| (u - m).abs() > 10)
        };

        // Night bursts first: they need an agent that has been active for over an hour.
        let mut bursts = Vec::new();
        for pass in 0..2 {
            for &ai in &pool {
                if bursts.len() >= per_kind {
                    break;
                }
                if used_agents[ai] || minutes[ai].is_empty() {
                    continue;
                }
                let first = minutes[ai][0];
                for attempt in 0..40 {
                    let m = r.range(60, 354) as i64;
                    let strict = pass == 0 && attempt < 30;
                    let hist = minutes[ai]
                        .iter()
                        .filter(|&&x| x >= m - 60 && x < m)
                        .count();
                    if first <= m - 61 && hist >= 3 && far(&used_minutes, m, strict) {
                        used_agents[ai] = true;
                        used_minutes.push(m);
                        bursts.push((ai, m));
                        break;
                    }
                }
            }
        }
        for (ai, m) in bursts {
            // Clear the agent's own traffic in the burst minute and the next, so the
            // labelled minute holds exactly the burst and no later event's 60-second
            // window overlaps it.
            let (lo, hi) = (self.day0 + m * MIN_MS, self.day0 + (m + 2) * MIN_MS);
            self.events
                .retain(|e| !(e.actor as usize == ai && e.t >= lo && e.t < hi));
            let id = self.incidents.len() as u32;
            self.incidents.push(Incident {
                kind: Kind::NightBurst,
                agent: ai,
                lines: vec![],
                start: 0,
                end: 0,
            });
            let count = r.range(25, 64);
            let first_s = r.range(0, 20) as i64;
            let span = r.range(15, 39) as i64 * 1000;
            for _ in 0..count {
                let t = lo + first_s * 1000 + r.below(span as u64) as i64;
                let mut g = normal_grant(&self.agents[ai], &mut r);
                g.fail = None;
                self.push(t, ai, id, Body::Grant(Box::new(g)));
            }
        }

        let mut next = 0usize;
        for kind in [
            Kind::NewNetwork,
            Kind::ScopeEscalation,
            Kind::ExpiredCert,
            Kind::LongToken,
        ] {
            let mut taken_this_kind = Vec::new();
            let mut made = 0;
            let mut tries = 0;
            while made < per_kind && tries < 20 * n + 100 {
                tries += 1;
                let ai = pool[next % n];
                next += 1;
                if taken_this_kind.contains(&ai) || minutes[ai].is_empty() {
                    continue;
                }
                if used_agents[ai] && used_agents.iter().any(|u| !u) {
                    continue;
                }
                // Start a few minutes after one of the agent's own requests.
                let mut chosen = None;
                for attempt in 0..40 {
                    let m = *r.pick(&minutes[ai]) + r.range(1, 3) as i64;
                    if m <= MINUTES - 40 && far(&used_minutes, m, attempt < 30) {
                        chosen = Some(m);
                        break;
                    }
                }
                let Some(m) = chosen else { continue };
                used_agents[ai] = true;
                taken_this_kind.push(ai);
                used_minutes.push(m);
                self.make_incident(kind, ai, m, made, &mut r);
                made += 1;
            }
        }
    }

    fn make_incident(&mut self, kind: Kind, ai: usize, m: i64, nth: usize, r: &mut Rng) {
        let id = self.incidents.len() as u32;
        self.incidents.push(Incident {
            kind,
            agent: ai,
            lines: vec![],
            start: 0,
            end: 0,
        });
        let mut t = self.day0 + m * MIN_MS + r.below(MIN_MS as u64) as i64;
        let (count, gap) = match kind {
            Kind::NewNetwork => (r.range(2, 6), (20_000, 240_000)),
            Kind::ScopeEscalation => (r.range(1, 2), (5_000, 90_000)),
            Kind::ExpiredCert => (r.range(2, 4), (60_000, 600_000)),
            Kind::LongToken => (r.range(1, 3), (60_000, 600_000)),
            Kind::NightBurst => unreachable!("bursts are made in inject_incidents"),
        };
        // Per-incident constants.
        let a = &self.agents[ai];
        let v6 = matches!(a.homes[0].net, Net::V6(_));
        let ext_ip = if v6 && r.chance(0.5) {
            // 3fff::/20, the IPv6 documentation prefix outside 2001:db8::/32 (RFC 9637).
            Ipv6Addr::new(
                0x3fff,
                r.range(0, 0xfff) as u16,
                0,
                0,
                0,
                0,
                0,
                r.range(1, 0xfff) as u16,
            )
            .to_string()
        } else if r.chance(0.5) {
            format!("203.0.113.{}", r.range(1, 254))
        } else {
            format!("198.51.100.{}", r.range(1, 254))
        };
        let foreign = r.below(FOREIGN_GEOS.len() as u64) as usize;
        let ext_ua = if r.chance(0.5) {
            None
        } else {
            Some(*r.pick(ATTACKER_UAS))
        };
        let bad_issuer = *r.pick(BAD_ISSUERS);
        let old_cert = r.range(366, 820) as u32;
        let long = *r.pick(if a.lifetime == 15 {
            &[60u32, 120, 480, 1440][..]
        } else {
            &[240u32, 480, 720, 1440][..]
        });
        let extra = *r.pick(&a.excluded);
        let extra_granted = r.chance(0.4);
        for i in 0..count {
            let mut g = normal_grant(&self.agents[ai], r);
            g.fail = None;
            match kind {
                Kind::NewNetwork => {
                    g.ip = Ip::Ext(ext_ip.clone());
                    g.geo = GeoRef::Foreign(foreign);
                    g.ua = ext_ua;
                }
                Kind::ScopeEscalation => {
                    g.requested = (1u64 << self.agents[ai].scopes.len()) - 1;
                    g.extra = Some(extra);
                    g.extra_granted = extra_granted;
                    if !extra_granted {
                        g.fail = Some("invalid_scope");
                    }
                }
                Kind::ExpiredCert => {
                    if nth.is_multiple_of(2) {
                        g.cert_age = old_cert;
                    } else {
                        g.issuer = bad_issuer;
                    }
                }
                Kind::LongToken => g.lifetime = long,
                Kind::NightBurst => {}
            }
            if i > 0 {
                t += r.range(gap.0, gap.1) as i64;
            }
            self.push(t, ai, id, Body::Grant(Box::new(g)));
        }
    }
}

// ---------------------------------------------------------------------------
// Serialisation.

struct Ids {
    uuid: String,
    request: String,
}

fn ids(seed: u64, seq: u32) -> Ids {
    let mut r = Rng::stream(seed, S_IDS, seq as u64);
    let (a, b) = (r.next(), r.next());
    let h = format!("{a:016x}{b:016x}");
    let uuid = format!(
        "{}-{}-1{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[16..20],
        &h[20..32]
    );
    Ids {
        uuid,
        request: r.base62(27),
    }
}

fn write_event(o: &mut String, w: &World, e: &Ev) {
    let id = ids(w.seed, e.seq);
    let published = fmt_ts(e.t);
    let mut j = Obj::new(o);
    j.str("uuid", &id.uuid).str("published", &published);
    match &e.body {
        Body::Grant(g) => {
            let a = &w.agents[e.actor as usize];
            let geo = g.geo.geo();
            let ip = match &g.ip {
                Ip::Home { home, host } => a.homes[*home as usize].net.host(*host),
                Ip::Ext(s) => s.clone(),
            };
            let mut req: Vec<&str> = a
                .scopes
                .iter()
                .enumerate()
                .filter(|(i, _)| g.requested >> i & 1 == 1)
                .map(|(_, s)| *s)
                .collect();
            if let Some(x) = g.extra {
                let at = (e.seq as usize) % (req.len() + 1);
                req.insert(at, x);
            }
            let granted: Vec<&str> = if g.fail.is_some() {
                vec![]
            } else {
                req.iter()
                    .copied()
                    .filter(|s| Some(*s) != g.extra || g.extra_granted)
                    .collect()
            };
            // Trimmed to what rules read, to keep the bundled day near 4 MB: no
            // `version`, `displayMessage`, `transaction`, `request`, `target`.
            j.str("eventType", "app.oauth2.as.token.grant.access_token")
                .str("severity", if g.fail.is_some() { "WARN" } else { "INFO" })
                .obj("actor", |j| {
                    j.str("id", &a.id)
                        .str("type", "PublicClientApp")
                        .str("alternateId", &a.name)
                        .str("displayName", &a.name);
                })
                .obj("client", |j| {
                    j.obj("userAgent", |j| {
                        j.str("rawUserAgent", g.ua.unwrap_or(a.ua));
                    })
                    .str("ipAddress", &ip)
                    .obj("geographicalContext", |j| {
                        j.str("city", geo.city).str("country", geo.country);
                    });
                })
                .obj("outcome", |j| match g.fail {
                    Some(reason) => {
                        j.str("result", "FAILURE").str("reason", reason);
                    }
                    None => {
                        j.str("result", "SUCCESS");
                    }
                })
                .obj("securityContext", |j| {
                    j.num("asNumber", geo.asn);
                });
            if let Some(s) = &g.session {
                j.obj("authenticationContext", |j| {
                    j.str("externalSessionId", s);
                });
            }
            j.obj("debugContext", |j| {
                j.obj("debugData", |j| {
                    j.str("grantType", "client_credentials")
                        .str("clientAuthType", a.auth)
                        .str("requestedScopes", &req.join(" "))
                        .str("grantedScopes", &granted.join(" "))
                        .str("certIssuer", g.issuer)
                        .num("certAgeDays", g.cert_age as i64)
                        .num("tokenLifetimeMinutes", g.lifetime as i64);
                    if let Some(s) = g.secret_age.or(a.secret_age) {
                        j.num("secretAgeDays", s as i64);
                    }
                    j.str("devicePosture", "compliant");
                });
            });
        }
        Body::Rotation => {
            // The agent creates a new client secret through the API (Okta's
            // `app.oauth2.credentials.lifecycle.create`), from its first host.
            let a = &w.agents[e.actor as usize];
            let home = &a.homes[0];
            let geo = &HOME_GEOS[home.geo];
            let ip = home.net.host(home.hosts[0]);
            let mut t = String::from("[");
            let mut tj = Obj::new(&mut t);
            tj.str("id", &a.id)
                .str("type", "AppInstance")
                .str("alternateId", &a.name)
                .str("displayName", &a.name);
            tj.end();
            t.push(']');
            j.str("eventType", "app.oauth2.credentials.lifecycle.create")
                .str("severity", "INFO")
                .str("displayMessage", "Create client secret for OAuth client")
                .obj("actor", |j| {
                    j.str("id", &a.id)
                        .str("type", "PublicClientApp")
                        .str("alternateId", &a.name)
                        .str("displayName", &a.name);
                })
                .obj("client", |j| {
                    j.obj("userAgent", |j| {
                        j.str("rawUserAgent", a.ua);
                    })
                    .str("ipAddress", &ip)
                    .obj("geographicalContext", |j| {
                        j.str("city", geo.city).str("country", geo.country);
                    });
                })
                .obj("outcome", |j| {
                    j.str("result", "SUCCESS");
                })
                .obj("securityContext", |j| {
                    j.num("asNumber", geo.asn);
                })
                .raw("target", &t);
        }
        Body::Session | Body::Sso(_) => {
            let h = &w.humans[e.actor as usize - w.agents.len()];
            let geo = &OFFICE_GEOS[h.geo];
            let (ty, msg, uri) = match e.body {
                Body::Session => (
                    "user.session.start",
                    "User login to Okta",
                    "/idp/idx/identify",
                ),
                _ => (
                    "user.authentication.sso",
                    "User single sign on to app",
                    "/app/sso/saml",
                ),
            };
            j.str("eventType", ty)
                .str("version", "0")
                .str("severity", "INFO")
                .str("displayMessage", msg)
                .obj("actor", |j| {
                    j.str("id", &h.id)
                        .str("type", "User")
                        .str("alternateId", &h.login)
                        .str("displayName", &h.display);
                })
                .obj("client", |j| {
                    j.obj("userAgent", |j| {
                        j.str("rawUserAgent", h.ua);
                    })
                    .str("ipAddress", &h.ip)
                    .obj("geographicalContext", |j| {
                        j.str("city", geo.city)
                            .str("state", geo.state)
                            .str("country", geo.country);
                    });
                })
                .obj("outcome", |j| {
                    j.str("result", "SUCCESS").raw("reason", "null");
                })
                .obj("securityContext", |j| {
                    j.num("asNumber", geo.asn)
                        .str("asOrg", geo.as_org)
                        .bool("isProxy", false);
                });
            if let Body::Sso(app) = e.body {
                let mut ar = Rng::stream(w.seed, S_ORG, 100 + app as u64);
                let app_id = format!("0oa{}", ar.base62(17));
                let mut t = String::from("[");
                let mut tj = Obj::new(&mut t);
                tj.str("id", &app_id)
                    .str("type", "AppInstance")
                    .str("alternateId", SSO_APPS[app])
                    .str("displayName", SSO_APPS[app]);
                tj.end();
                t.push(']');
                j.raw("target", &t);
            }
            j.obj("debugContext", |j| {
                j.obj("debugData", |j| {
                    j.str("requestId", &id.request).str("requestUri", uri);
                });
            });
        }
    }
    j.end();
}

// ---------------------------------------------------------------------------
// Command line.

struct Args {
    seed: u64,
    agents: usize,
    events: Option<u64>,
    out: Option<PathBuf>,
    name: Option<String>,
    profiles: Option<PathBuf>,
    date: String,
    weeks: bool,
}

const USAGE: &str = "usage: gen_events [--seed N] [--agents N] [--events N] [--out DIR] [--name STEM] [--profiles PATH] [--date YYYY-MM-DD] [--weeks]

  --seed N        PRNG seed (default 42); same arguments give byte-identical files
  --agents N      number of agents (default 50); --events may raise it
  --events N      generate about N events (benchmarks) into --out (default target/gen)
  --out DIR       write <stem>.jsonl, <stem>.labels.jsonl and agents.json into DIR
  --name STEM     file stem (default okta-day, or okta-<N> with --events)
  --profiles PATH where to write the agent profiles (default DIR/agents.json, or
                  examples/profiles/agents.json for the bundled stream)
  --date D        the UTC day to cover (default 2026-11-22)
  --weeks         also write okta-weeks.jsonl and okta-weeks.labels.jsonl into DIR:
                  six weeks of 12 of the agents up to --date, with
                  their own incidents (the bundled files always get them)

Without --events and --out the bundled files under examples/ are rewritten.";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        seed: 42,
        agents: 50,
        events: None,
        out: None,
        name: None,
        profiles: None,
        date: "2026-11-22".into(),
        weeks: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--weeks" {
            a.weeks = true;
            continue;
        }
        let mut val = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let num = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: `{v}` is not a number"))
        };
        match flag.as_str() {
            "--seed" => a.seed = num(val()?)?,
            "--agents" => a.agents = num(val()?)?.max(1) as usize,
            "--events" => a.events = Some(num(val()?)?),
            "--out" => a.out = Some(PathBuf::from(val()?)),
            "--name" => a.name = Some(val()?),
            "--profiles" => a.profiles = Some(PathBuf::from(val()?)),
            "--date" => a.date = val()?,
            _ => return Err(format!("unknown argument `{flag}`\n{USAGE}")),
        }
    }
    Ok(a)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let day0 = parse_date(&args.date)?;
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bundled = args.events.is_none() && args.out.is_none();
    let out_dir = match (&args.out, args.events) {
        (Some(d), _) => d.clone(),
        (None, Some(_)) => crate_dir.join("target/gen"),
        (None, None) => crate_dir.join("examples/events"),
    };
    let stem = args.name.clone().unwrap_or_else(|| match args.events {
        Some(n) => format!("okta-{n}"),
        None => "okta-day".to_string(),
    });
    let profiles_path = args.profiles.clone().unwrap_or_else(|| {
        if bundled {
            crate_dir.join("examples/profiles/agents.json")
        } else {
            out_dir.join("agents.json")
        }
    });

    // Agents: --agents of them, or as many as it takes to expect about --events events
    // (each agent also carries its share of humans and incident events, ~6 a day).
    let mut agents = Vec::new();
    let mut expected = 0.0;
    while agents.len() < args.agents || args.events.is_some_and(|n| expected < n as f64) {
        let a = Agent::new(args.seed, agents.len());
        expected += a.per_day + 6.0;
        agents.push(a);
    }
    let n_humans = (agents.len() * 6).div_ceil(50).max(3);
    let humans = (0..n_humans).map(|i| Human::new(args.seed, i)).collect();
    let mut w = World {
        seed: args.seed,
        day0,
        agents,
        humans,
        events: Vec::new(),
        incidents: Vec::new(),
        seq: 0,
        span: DAY_MS,
    };
    w.normal_traffic();
    let per_kind = (w.agents.len() * 4 / 50).max(4);
    w.inject_incidents(per_kind);
    w.events.sort_by_key(|e| (e.t, e.seq));

    fs::create_dir_all(&out_dir)?;
    if let Some(p) = profiles_path.parent() {
        fs::create_dir_all(p)?;
    }
    let events_path = out_dir.join(format!("{stem}.jsonl"));
    let labels_path = out_dir.join(format!("{stem}.labels.jsonl"));

    let mut out = BufWriter::with_capacity(1 << 20, fs::File::create(&events_path)?);
    let mut line = String::with_capacity(2048);
    let mut bytes = 0u64;
    for (i, e) in w.events.iter().enumerate() {
        line.clear();
        write_event(&mut line, &w, e);
        line.push('\n');
        out.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
        if e.incident != NONE {
            let inc = &mut w.incidents[e.incident as usize];
            if inc.lines.is_empty() {
                inc.start = e.t;
            }
            inc.end = e.t;
            inc.lines.push(i as u64 + 1);
        }
    }
    out.flush()?;

    let mut order: Vec<usize> = (0..w.incidents.len())
        .filter(|&i| !w.incidents[i].lines.is_empty())
        .collect();
    order.sort_by_key(|&i| (w.incidents[i].start, w.incidents[i].kind));
    let mut lab = BufWriter::new(fs::File::create(&labels_path)?);
    for &i in &order {
        let inc = &w.incidents[i];
        let lines: Vec<String> = inc.lines.iter().map(u64::to_string).collect();
        let mut s = String::new();
        let mut j = Obj::new(&mut s);
        j.str("incident", inc.kind.name())
            .str("agent", &w.agents[inc.agent].id)
            .str("start", &fmt_ts(inc.start))
            .str("end", &fmt_ts(inc.end))
            .raw("lines", &format!("[{}]", lines.join(",")));
        j.end();
        writeln!(lab, "{s}")?;
    }
    lab.flush()?;

    let mut prof = BufWriter::new(fs::File::create(&profiles_path)?);
    writeln!(prof, "[")?;
    for (i, a) in w.agents.iter().enumerate() {
        let sep = if i + 1 < w.agents.len() { "," } else { "" };
        writeln!(prof, "  {}{sep}", a.profile_json())?;
    }
    writeln!(prof, "]")?;
    prof.flush()?;

    eprintln!("gen_events: seed {} date {}", args.seed, args.date);
    eprintln!(
        "  events     {} ({} bytes) -> {}",
        w.events.len(),
        bytes,
        events_path.display()
    );
    eprintln!(
        "  agents     {} (+ {} human users) -> {}",
        w.agents.len(),
        w.humans.len(),
        profiles_path.display()
    );
    let mut parts = Vec::new();
    for k in KINDS {
        let n = order.iter().filter(|&&i| w.incidents[i].kind == k).count();
        let ev: usize = order
            .iter()
            .filter(|&&i| w.incidents[i].kind == k)
            .map(|&i| w.incidents[i].lines.len())
            .sum();
        parts.push(format!("{} {n} ({ev} events)", k.name()));
    }
    eprintln!("  incidents  {} -> {}", order.len(), labels_path.display());
    eprintln!("             {}", parts.join(", "));
    if bundled || args.weeks {
        // The six weeks up to --date (2026-10-11 to 2026-11-21 for the bundled
        // day): in the past, so a replay's forward-skew limit never drops them,
        // and across the end of daylight saving time in New York (2026-11-01).
        write_weeks(args.seed, day0 - WEEKS * 7 * DAY_MS, &out_dir, "okta-weeks")?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The weeks stream: six weeks of a dozen agents at a few events a day, for the
// rules that need history (tracked_for, 28-day schedules, 90-day z-scores) and
// for sequences, sessions and per-client fan-out.

const HOUR_MS: i64 = 3_600_000;
const S_WEEKS: u64 = 7;
const S_WEEKS_INC: u64 = 8;
const S_SESSION: u64 = 9;
/// Length of the weeks stream.
const WEEKS: i64 = 6;
/// The agents of the weeks stream, by template name.
const WEEKS_AGENTS: &[&str] = &[
    "terraform-cloud-runner",
    "kubernetes-external-secrets",
    "openai-support-agent",
    "zendesk-triage-agent",
    "claude-code-review-agent",
    "snowflake-etl-nightly",
    "stripe-billing-reconciler",
    "jira-sprint-bot",
    "datadog-remediation-prod",
    "github-actions-deployer",
    "looker-report-scheduler",
    "workday-hr-sync",
];
/// AI assistants that work in one Okta session a (New York) working day.
const SESSION_AGENTS: &[&str] = &[
    "openai-support-agent",
    "zendesk-triage-agent",
    "claude-code-review-agent",
];
/// Scopes that read secrets (`secret_read_scopes` in agents.rules).
const SECRET_READ_SCOPES: &[&str] = &[
    "vault:secrets:read",
    "k8s:secrets:read",
    "github:secrets:read",
];
/// Thresholds of the rules B1-B5 (examples/rules/agents.rules).
const SEQ_WITHIN_MS: i64 = 30 * MIN_MS;
const TRACKED_MS: i64 = 14 * DAY_MS;
const SCHEDULE_RETENTION_MS: i64 = 28 * DAY_MS;
const ZSCORE_DAYS: i64 = 90;
const FANOUT_ABOVE: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum WKind {
    RotatedThenNewNetwork,
    OffSchedule,
    SecretReadSpike,
    SessionIpChange,
    TokenIpFanout,
}

const WKINDS: [WKind; 5] = [
    WKind::RotatedThenNewNetwork,
    WKind::OffSchedule,
    WKind::SecretReadSpike,
    WKind::SessionIpChange,
    WKind::TokenIpFanout,
];

impl WKind {
    fn name(self) -> &'static str {
        match self {
            WKind::RotatedThenNewNetwork => "rotated_then_new_network",
            WKind::OffSchedule => "off_schedule",
            WKind::SecretReadSpike => "secret_read_spike",
            WKind::SessionIpChange => "session_ip_change",
            WKind::TokenIpFanout => "token_ip_fanout",
        }
    }
}

/// The UTC offset of America/New_York at `t` (US rules since 2007: daylight
/// time from the second Sunday of March 07:00 UTC to the first Sunday of
/// November 06:00 UTC).
fn ny_offset_ms(t: i64) -> i64 {
    let (y, _, _) = civil_from_days(t.div_euclid(DAY_MS));
    let sunday = |m: i64, nth: i64| {
        let first = days_from_civil(y, m, 1);
        // 1970-01-01 was a Thursday: (days + 4) mod 7 is 0 on Sundays.
        let to_sunday = (7 - (first + 4).rem_euclid(7)) % 7;
        first + to_sunday + 7 * (nth - 1)
    };
    let start = sunday(3, 2) * DAY_MS + 7 * HOUR_MS;
    let end = sunday(11, 1) * DAY_MS + 6 * HOUR_MS;
    if t >= start && t < end {
        -4 * HOUR_MS
    } else {
        -5 * HOUR_MS
    }
}

/// `hour_of_week("America/New_York")`: 0-167, Monday 00:00 = 0.
fn how_ny(t: i64) -> usize {
    let local = t + ny_offset_ms(t);
    let day = local.div_euclid(DAY_MS);
    let weekday = (day + 3).rem_euclid(7); // Monday = 0
    (weekday * 24 + local.rem_euclid(DAY_MS) / HOUR_MS) as usize
}

/// The New York day of `t` (days since 1970-01-01 there).
fn ny_day(t: i64) -> i64 {
    (t + ny_offset_ms(t)).div_euclid(DAY_MS)
}

/// The hours of the week (New York) an agent works in.
fn weekly_slots(a: &Agent) -> [bool; 168] {
    let mut s = [false; 168];
    let ny_hour = |utc_min: i64| (utc_min.div_euclid(60) - 5).rem_euclid(24) as usize;
    match a.sched {
        Sched::Business | Sched::Ci => {
            let h0 = ny_hour(a.biz_start);
            for d in 0..5 {
                for i in 0..9 {
                    s[(d * 24 + h0 + i) % 168] = true;
                }
            }
        }
        Sched::Nightly => {
            let h0 = ny_hour(a.batch_start);
            let n = ((a.batch_start + a.batch_len + 59) / 60 - a.batch_start / 60) as usize;
            for d in 0..7 {
                for i in 0..n {
                    s[(d * 24 + h0 + i) % 168] = true;
                }
            }
        }
        Sched::Always => s = [true; 168],
    }
    s
}

fn session_id(seed: u64, ai: usize, day: i64) -> String {
    let mut r = Rng::stream(seed, S_SESSION, (ai as u64) << 20 ^ day as u64);
    format!("102{}", r.base62(22))
}

/// A 10.0.0.0/8 address in no agent's home network and not used before.
fn fresh_ip(r: &mut Rng, agents: &[Agent], taken: &mut Vec<String>) -> String {
    loop {
        let (b, c) = (r.range(100, 199) as u8, r.below(256) as u8);
        let home = agents.iter().any(|a| {
            a.homes
                .iter()
                .any(|h| matches!(h.net, Net::V4([10, x, y]) if x == b && y == c))
        });
        let ip = Ipv4Addr::new(10, b, c, r.range(10, 250) as u8).to_string();
        if !home && !taken.contains(&ip) {
            taken.push(ip.clone());
            return ip;
        }
    }
}

struct WIncident {
    kind: WKind,
    agent: usize,
}

/// What the definitions read of one event of the weeks stream.
struct Obs {
    agent: usize,
    t: i64,
    grant: bool,
    ip: String,
    /// The IP is outside the agent's home networks.
    away: bool,
    requested: String,
    secret_read: bool,
    session: Option<String>,
}

struct Weeks {
    w: World,
    winc: Vec<WIncident>,
    /// Each agent's working hours of the week (New York).
    slots: Vec<[bool; 168]>,
    /// Each agent's secret rotations (agents with a client secret).
    rotations: Vec<Vec<i64>>,
}

impl Weeks {
    fn agent_index(&self, name: &str) -> usize {
        self.w
            .agents
            .iter()
            .position(|a| a.name == name)
            .unwrap_or_else(|| panic!("no agent `{name}` among the first 50"))
    }

    fn cert_age(&self, ai: usize, t: i64) -> u32 {
        let a = &self.w.agents[ai];
        let age = a.cert_age as i64 + (t - self.w.day0) / DAY_MS;
        (if age > 85 { age - 85 } else { age }) as u32
    }

    fn secret_age(&self, ai: usize, t: i64) -> Option<u32> {
        let a = &self.w.agents[ai];
        a.secret_age?;
        let last = self.rotations[ai].iter().rev().find(|&&r| r <= t).copied();
        Some(match last {
            Some(r) => ((t - r) / DAY_MS) as u32,
            None => a.secret_age.unwrap_or(0) % 7 + ((t - self.w.day0) / DAY_MS) as u32,
        })
    }

    fn grant(&self, ai: usize, t: i64, r: &mut Rng) -> Grant {
        let a = &self.w.agents[ai];
        let mut g = normal_grant(a, r);
        g.cert_age = self.cert_age(ai, t);
        g.secret_age = self.secret_age(ai, t);
        if SESSION_AGENTS.contains(&a.name.as_str()) {
            let day = ny_day(t);
            let mut sr = Rng::stream(
                self.w.seed,
                S_SESSION ^ 0x100,
                (ai as u64) << 20 ^ day as u64,
            );
            g.ip = Ip::Home {
                home: 0,
                host: *sr.pick(&a.homes[0].hosts),
            };
            g.geo = GeoRef::Home(a.homes[0].geo);
            g.session = Some(session_id(self.w.seed, ai, day));
        }
        g
    }

    fn hours(&self) -> impl Iterator<Item = i64> + '_ {
        (0..WEEKS * 168).map(move |k| self.w.day0 + k * HOUR_MS)
    }

    fn normal_traffic(&mut self) {
        let agents: Vec<usize> = WEEKS_AGENTS.iter().map(|n| self.agent_index(n)).collect();
        // Weekly secret rotations first: grants report the secret's age.
        for &ai in &agents {
            if self.w.agents[ai].secret_age.is_none() {
                continue;
            }
            let mut r = Rng::stream(self.w.seed, S_WEEKS ^ 0x200, ai as u64);
            let mut times = Vec::new();
            for week in 0..WEEKS {
                let h = (week * 168..(week + 1) * 168)
                    .map(|k| self.w.day0 + k * HOUR_MS)
                    .find(|&h| self.slots[ai][how_ny(h)]);
                if let Some(h) = h {
                    times.push(h + r.range(0, 29) as i64 * MIN_MS + r.below(MIN_MS as u64) as i64);
                }
            }
            self.rotations[ai] = times;
        }
        for &ai in &agents {
            for &t in &self.rotations[ai].clone() {
                self.w.push(t, ai, NONE, Body::Rotation);
            }
            let mut r = Rng::stream(self.w.seed, S_WEEKS, ai as u64);
            let always = self.w.agents[ai].sched == Sched::Always;
            let hours: Vec<i64> = self
                .hours()
                .filter(|&h| self.slots[ai][how_ny(h)])
                .collect();
            for h in hours {
                let n = if always {
                    u32::from(r.chance(0.45))
                } else {
                    1 + u32::from(r.chance(0.35))
                };
                for _ in 0..n {
                    let t = h + r.below(HOUR_MS as u64) as i64;
                    let g = self.grant(ai, t, &mut r);
                    self.w.push(t, ai, NONE, Body::Grant(Box::new(g)));
                }
            }
        }
    }

    fn new_incident(&mut self, kind: WKind, ai: usize) -> u32 {
        self.winc.push(WIncident { kind, agent: ai });
        (self.winc.len() - 1) as u32
    }

    /// A random working hour of agent `ai` on days `days` of the stream.
    fn working_hour(&self, ai: usize, days: (i64, i64), r: &mut Rng) -> i64 {
        let hours: Vec<i64> = self
            .hours()
            .filter(|&h| {
                let d = (h - self.w.day0) / DAY_MS;
                d >= days.0 && d <= days.1 && self.slots[ai][how_ny(h)]
            })
            .collect();
        *r.pick(&hours)
    }

    fn inject(&mut self) {
        let mut r = Rng::stream(self.w.seed, S_WEEKS_INC, 0);
        let mut taken: Vec<String> = Vec::new();
        let full = |a: &Agent| (1u64 << a.scopes.len()) - 1;

        // Secret-read spikes: 30-40 reads in one working hour, days 20-38.
        for name in ["terraform-cloud-runner", "kubernetes-external-secrets"] {
            let ai = self.agent_index(name);
            let id = self.new_incident(WKind::SecretReadSpike, ai);
            let h = self.working_hour(ai, (20, 38), &mut r);
            for _ in 0..r.range(30, 40) {
                let t = h + r.below(HOUR_MS as u64) as i64;
                let mut g = self.grant(ai, t, &mut r);
                g.requested = full(&self.w.agents[ai]);
                g.fail = None;
                self.w.push(t, ai, id, Body::Grant(Box::new(g)));
            }
        }

        // Session hijack: 1-2 grants inside a working session from another address.
        for name in ["openai-support-agent", "claude-code-review-agent"] {
            let ai = self.agent_index(name);
            let id = self.new_incident(WKind::SessionIpChange, ai);
            let (first, last) = loop {
                let h = self.working_hour(ai, (3, 40), &mut r);
                let day = ny_day(h);
                let times: Vec<i64> = self
                    .w
                    .events
                    .iter()
                    .filter(|e| e.actor as usize == ai && ny_day(e.t) == day)
                    .map(|e| e.t)
                    .collect();
                if times.len() >= 4 {
                    let (lo, hi) = (
                        *times.iter().min().unwrap_or(&0),
                        *times.iter().max().unwrap_or(&0),
                    );
                    break (lo, hi);
                }
            };
            let ip = fresh_ip(&mut r, &self.w.agents, &mut taken);
            for _ in 0..r.range(1, 2) {
                let t = first + 1 + r.below((last - first - 1) as u64) as i64;
                let mut g = self.grant(ai, t, &mut r);
                g.ip = Ip::Ext(ip.clone());
                g.fail = None;
                self.w.push(t, ai, id, Body::Grant(Box::new(g)));
            }
        }

        // Off-schedule activity: 1-3 grants in consecutive hours of the week the
        // agent never works in, after day 15.
        for name in ["snowflake-etl-nightly", "jira-sprint-bot"] {
            let ai = self.agent_index(name);
            let id = self.new_incident(WKind::OffSchedule, ai);
            let n = r.range(1, 3) as usize;
            let q = loop {
                let q = r.below(168) as usize;
                if (0..n).all(|i| !self.slots[ai][(q + i) % 168]) {
                    break q;
                }
            };
            let h = self
                .hours()
                .find(|&h| {
                    h >= self.w.day0 + 15 * DAY_MS + r.below(20) as i64 * DAY_MS && how_ny(h) == q
                })
                .unwrap_or_else(|| panic!("no hour {q} after day 15"));
            for i in 0..n as i64 {
                let t = h + i * HOUR_MS + r.below(HOUR_MS as u64) as i64;
                let mut g = self.grant(ai, t, &mut r);
                g.fail = None;
                self.w.push(t, ai, id, Body::Grant(Box::new(g)));
            }
        }

        // Fan-out: the credential requests the full scope set from 9 new addresses
        // within 25 minutes of a working hour.
        for name in ["datadog-remediation-prod", "github-actions-deployer"] {
            let ai = self.agent_index(name);
            let id = self.new_incident(WKind::TokenIpFanout, ai);
            let h = self.working_hour(ai, (2, 40), &mut r);
            let mut t = h + r.range(0, 20) as i64 * MIN_MS;
            for _ in 0..FANOUT_ABOVE + 1 {
                let ip = fresh_ip(&mut r, &self.w.agents, &mut taken);
                let mut g = self.grant(ai, t, &mut r);
                g.ip = Ip::Ext(ip);
                g.requested = full(&self.w.agents[ai]);
                g.fail = None;
                self.w.push(t, ai, id, Body::Grant(Box::new(g)));
                t += r.range(30_000, 150_000) as i64;
            }
        }

        // A weekly rotation followed, 2-25 minutes later, by the first use of the
        // new secret from a network the agent never uses.
        let busy: Vec<usize> = self.winc.iter().map(|i| i.agent).collect();
        let rotating: Vec<usize> = WEEKS_AGENTS
            .iter()
            .map(|n| self.agent_index(n))
            .filter(|&ai| !busy.contains(&ai) && !self.rotations[ai].is_empty())
            .take(2)
            .collect();
        for ai in rotating {
            let id = self.new_incident(WKind::RotatedThenNewNetwork, ai);
            let week = r.range(2, 4) as usize;
            let Some(&rot) = self.rotations[ai].get(week) else {
                continue;
            };
            let t = rot + r.range(2, 25) as i64 * MIN_MS + r.below(MIN_MS as u64) as i64;
            let ip = fresh_ip(&mut r, &self.w.agents, &mut taken);
            let mut g = self.grant(ai, t, &mut r);
            g.ip = Ip::Ext(ip);
            g.fail = None;
            self.w.push(t, ai, id, Body::Grant(Box::new(g)));
        }
    }

    fn observe(&self) -> Vec<Obs> {
        self.w
            .events
            .iter()
            .map(|e| {
                let a = &self.w.agents[e.actor as usize];
                match &e.body {
                    Body::Grant(g) => {
                        let (ip, away) = match &g.ip {
                            Ip::Home { home, host } => {
                                (a.homes[*home as usize].net.host(*host), false)
                            }
                            Ip::Ext(s) => (s.clone(), true),
                        };
                        let req: Vec<&str> = a
                            .scopes
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| g.requested >> i & 1 == 1)
                            .map(|(_, s)| *s)
                            .collect();
                        Obs {
                            agent: e.actor as usize,
                            t: e.t,
                            grant: true,
                            ip,
                            away,
                            secret_read: req.iter().any(|s| SECRET_READ_SCOPES.contains(s)),
                            requested: req.join(" "),
                            session: g.session.clone(),
                        }
                    }
                    _ => Obs {
                        agent: e.actor as usize,
                        t: e.t,
                        grant: false,
                        ip: String::new(),
                        away: false,
                        requested: String::new(),
                        secret_read: false,
                        session: None,
                    },
                }
            })
            .collect()
    }

    /// The events (indexes into the sorted stream) on which each rule's
    /// definition holds: B1 (sequence), B2 (schedule), B3 (z-score), B4
    /// (session), B5 (fan-out), as the README of examples/events states them.
    fn definitions(&self, obs: &[Obs]) -> Vec<(WKind, Vec<usize>)> {
        use std::collections::HashMap;
        let mut out: Vec<(WKind, Vec<usize>)> = WKINDS.iter().map(|&k| (k, Vec::new())).collect();
        let mut push = |k: WKind, i: usize| {
            if let Some(v) = out.iter_mut().find(|(x, _)| *x == k) {
                v.1.push(i);
            }
        };
        // B1: a rotation, then a grant from outside the home networks within 30m.
        let mut rotated: HashMap<usize, i64> = HashMap::new();
        // B2: per agent, first event and last time each hour of the week was seen.
        let mut first: HashMap<usize, i64> = HashMap::new();
        let mut seen: HashMap<(usize, usize), i64> = HashMap::new();
        // B3: per agent, times of secret reads.
        let mut reads: HashMap<usize, Vec<i64>> = HashMap::new();
        // B4: first IP per session.
        let mut session_ip: HashMap<String, String> = HashMap::new();
        // B5: per (client, requested scopes), (minute, ip) of earlier grants.
        let mut fan: HashMap<(usize, String), Vec<(i64, String)>> = HashMap::new();
        for (i, o) in obs.iter().enumerate() {
            let a = &self.w.agents[o.agent];
            if !o.grant {
                rotated.insert(o.agent, o.t);
            } else if o.away {
                if let Some(rt) = rotated.get(&o.agent).copied() {
                    if o.t - rt <= SEQ_WITHIN_MS {
                        push(WKind::RotatedThenNewNetwork, i);
                        rotated.remove(&o.agent);
                    }
                }
            }

            let f = *first.entry(o.agent).or_insert(o.t);
            let slot = how_ny(o.t);
            let new = seen
                .get(&(o.agent, slot))
                .is_none_or(|&last| o.t - last >= SCHEDULE_RETENTION_MS);
            if o.grant && a.sched != Sched::Always && o.t - f >= TRACKED_MS && new {
                push(WKind::OffSchedule, i);
            }
            seen.insert((o.agent, slot), o.t);
            let distinct_slots = seen
                .iter()
                .filter(|((ag, _), &last)| *ag == o.agent && o.t - last < SCHEDULE_RETENTION_MS)
                .count();
            // An always-on agent works every hour: B2 does not read it.
            assert!(
                a.sched == Sched::Always || distinct_slots <= 64,
                "{} uses more than 64 hours of the week",
                a.name
            );

            if o.secret_read {
                let rs = reads.entry(o.agent).or_default();
                rs.push(o.t);
                const B: i64 = DAY_MS / 60;
                let x = rs.iter().filter(|&&t| t / B >= o.t / B - 59).count() as i128;
                let m = o.t / DAY_MS;
                let fday = rs[0] / DAY_MS;
                if m - fday >= 10 {
                    let lo = fday.max(m - ZSCORE_DAYS);
                    let n = (m - lo) as i128;
                    let totals: Vec<i128> = (lo..m)
                        .map(|d| rs.iter().filter(|&&t| t / DAY_MS == d).count() as i128)
                        .collect();
                    let s: i128 = totals.iter().sum();
                    let q: i128 = totals.iter().map(|v| v * v).sum();
                    let var = n * q - s * s;
                    let d = n * x - s;
                    if var > 0 && d > 0 && d * d > 9 * var {
                        push(WKind::SecretReadSpike, i);
                    }
                }
            }

            if let Some(s) = &o.session {
                let firstip = session_ip.entry(s.clone()).or_insert_with(|| o.ip.clone());
                if *firstip != o.ip {
                    push(WKind::SessionIpChange, i);
                }
            }

            if o.grant {
                let v = fan.entry((o.agent, o.requested.clone())).or_default();
                let minute = o.t / MIN_MS;
                v.push((minute, o.ip.clone()));
                let mut ips: Vec<&str> = v
                    .iter()
                    .filter(|(m, _)| *m >= minute - 59)
                    .map(|(_, ip)| ip.as_str())
                    .collect();
                ips.sort_unstable();
                ips.dedup();
                if ips.len() > FANOUT_ABOVE {
                    push(WKind::TokenIpFanout, i);
                }
            }
        }
        out
    }
}

/// Writes `<stem>.jsonl` and `<stem>.labels.jsonl` for the weeks from `start`.
type WLabel = (WKind, usize, Vec<usize>, Vec<usize>);

/// One draw of the weeks: the stream and its labels, or why a rule's
/// definition holds on normal traffic (then the caller draws again).
fn draw_weeks(seed: u64, draw: u64, start: i64) -> Result<(Weeks, Vec<WLabel>), String> {
    let agents: Vec<Agent> = (0..TEMPLATES.len()).map(|i| Agent::new(seed, i)).collect();
    let slots = agents.iter().map(weekly_slots).collect();
    let n = agents.len();
    let mut wk = Weeks {
        w: World {
            // Other uuids than the day's, and another stream per draw.
            seed: seed ^ 0x5745_454b ^ mix(draw),
            day0: start,
            agents,
            humans: Vec::new(),
            events: Vec::new(),
            incidents: Vec::new(),
            seq: 0,
            span: WEEKS * 7 * DAY_MS,
        },
        winc: Vec::new(),
        slots,
        rotations: vec![Vec::new(); n],
    };
    wk.normal_traffic();
    wk.inject();
    wk.w.events.sort_by_key(|e| (e.t, e.seq));
    let obs = wk.observe();
    let defs = wk.definitions(&obs);

    // Labels: the events each definition holds on, per incident; every one of
    // them belongs to an incident of its kind on that agent (the generator
    // checks its own stream).
    let mut labels = Vec::new();
    for (id, inc) in wk.winc.iter().enumerate() {
        let injected: Vec<usize> = (0..wk.w.events.len())
            .filter(|&i| wk.w.events[i].incident == id as u32)
            .collect();
        let fired: Vec<usize> = defs
            .iter()
            .find(|(k, _)| *k == inc.kind)
            .map(|(_, v)| {
                v.iter()
                    .copied()
                    .filter(|&i| obs[i].agent == inc.agent)
                    .collect()
            })
            .unwrap_or_default();
        if fired.is_empty() {
            return Err(format!(
                "{} on {}: its definition never holds",
                inc.kind.name(),
                wk.w.agents[inc.agent].name
            ));
        }
        let context: Vec<usize> = match inc.kind {
            WKind::RotatedThenNewNetwork => {
                let t = wk.w.events[fired[0]].t;
                (0..fired[0])
                    .rev()
                    .find(|&i| {
                        obs[i].agent == inc.agent && !obs[i].grant && t - obs[i].t <= SEQ_WITHIN_MS
                    })
                    .into_iter()
                    .collect()
            }
            _ => injected
                .iter()
                .copied()
                .filter(|i| !fired.contains(i))
                .collect(),
        };
        match inc.kind {
            // Exactly the injected events.
            WKind::RotatedThenNewNetwork | WKind::OffSchedule | WKind::SessionIpChange => {
                if fired != injected {
                    return Err(format!(
                        "{} on {}: the definition holds on lines {:?}, the incident is {:?}",
                        inc.kind.name(),
                        wk.w.agents[inc.agent].name,
                        fired,
                        injected
                    ));
                }
            }
            // From the threshold on, and no earlier than the injected events.
            WKind::SecretReadSpike | WKind::TokenIpFanout => {
                if fired[0] < injected[0] {
                    return Err(format!(
                        "{} on {} holds at {}, before its incident at {}",
                        inc.kind.name(),
                        wk.w.agents[inc.agent].name,
                        fmt_ts(wk.w.events[fired[0]].t),
                        fmt_ts(wk.w.events[injected[0]].t)
                    ));
                }
            }
        }
        labels.push((inc.kind, inc.agent, fired, context));
    }
    for (kind, v) in &defs {
        for &i in v {
            if !labels
                .iter()
                .any(|(k, a, f, _)| k == kind && *a == obs[i].agent && f.contains(&i))
            {
                return Err(format!(
                    "{} holds on line {} of {} outside any incident",
                    kind.name(),
                    i + 1,
                    wk.w.agents[obs[i].agent].name
                ));
            }
        }
    }
    Ok((wk, labels))
}

/// Writes `<stem>.jsonl` and `<stem>.labels.jsonl` for the weeks from
/// `start`. Normal traffic is drawn again (another stream, up to 100 times)
/// while a rule's definition holds on it: a z-score over a few weeks of
/// Poisson-like traffic now and then exceeds 3 by chance.
fn write_weeks(seed: u64, start: i64, out_dir: &Path, stem: &str) -> Result<(), Box<dyn Error>> {
    let mut draw = 0;
    let (wk, mut labels) = loop {
        match draw_weeks(seed, draw, start) {
            Ok(x) => break x,
            Err(e) if draw < 100 => {
                eprintln!("  weeks draw {draw}: {e}; drawing again");
                draw += 1;
            }
            Err(e) => return Err(e.into()),
        }
    };

    let events_path = out_dir.join(format!("{stem}.jsonl"));
    let labels_path = out_dir.join(format!("{stem}.labels.jsonl"));
    let mut out = BufWriter::with_capacity(1 << 20, fs::File::create(&events_path)?);
    let mut line = String::with_capacity(2048);
    let mut bytes = 0u64;
    for e in &wk.w.events {
        line.clear();
        write_event(&mut line, &wk.w, e);
        line.push('\n');
        out.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
    }
    out.flush()?;
    labels.sort_by_key(|(k, _, f, _)| (wk.w.events[f[0]].t, *k));
    let mut lab = BufWriter::new(fs::File::create(&labels_path)?);
    let nums = |v: &[usize]| {
        v.iter()
            .map(|i| (i + 1).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    for (kind, ai, fired, context) in &labels {
        let mut s = String::new();
        let mut j = Obj::new(&mut s);
        j.str("incident", kind.name())
            .str("agent", &wk.w.agents[*ai].id)
            .str("start", &fmt_ts(wk.w.events[fired[0]].t))
            .str("end", &fmt_ts(wk.w.events[fired[fired.len() - 1]].t))
            .raw("lines", &format!("[{}]", nums(fired)))
            .raw("context", &format!("[{}]", nums(context)));
        j.end();
        writeln!(lab, "{s}")?;
    }
    lab.flush()?;
    eprintln!(
        "  weeks      {} events ({} bytes), {} agents, {} days from {} -> {}",
        wk.w.events.len(),
        bytes,
        WEEKS_AGENTS.len(),
        WEEKS * 7,
        fmt_ts(start),
        events_path.display()
    );
    let parts: Vec<String> = WKINDS
        .iter()
        .map(|k| {
            let l: Vec<_> = labels.iter().filter(|x| x.0 == *k).collect();
            let ev: usize = l.iter().map(|x| x.2.len()).sum();
            format!("{} {} ({ev} events)", k.name(), l.len())
        })
        .collect();
    eprintln!("  incidents  {} -> {}", labels.len(), labels_path.display());
    eprintln!("             {}", parts.join(", "));
    Ok(())
}
