//! The configuration of `riskgate serve`: one TOML file, every key
//! optional, and flags that override it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use riskgate::input::okta::Format;
use serde::Deserialize;

/// Arguments of `riskgate serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The configuration file (TOML); the flags below override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Rules file (reloaded when it changes).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Agent profiles (reloaded when they change).
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// Address of the HTTP endpoints (`/healthz`, `/readyz`, `/metrics`).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// State file: restored at start, written at exit and every
    /// `state.interval`.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Check the configuration (and the rules and profiles it names), print
    /// it with every default filled in, and exit.
    #[arg(long)]
    pub check_config: bool,
}

/// The whole configuration, defaults filled in.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Rules file.
    pub rules: PathBuf,
    /// Agent profiles.
    pub profiles: Option<PathBuf>,
    /// Event format: `auto`, `okta` or `native`.
    pub format: String,
    /// HTTP address.
    pub listen: SocketAddr,
    /// How often the rules and profiles files are checked for changes.
    #[serde(with = "duration_text")]
    pub reload_poll: Duration,
    /// Where events come from.
    pub input: Input,
    /// Where verdicts go.
    pub output: OutputConfig,
    /// State kept across restarts.
    pub state: StateConfig,
    /// Bounds of the state.
    pub limits: LimitsConfig,
    /// Kafka, for `input = "kafka"`.
    pub kafka: KafkaConfig,
}

/// Kafka input, verdict output and state changelog.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers (`host:port,host:port`).
    pub brokers: String,
    /// The input topic, keyed by agent id.
    pub topic: String,
    /// The consumer group; instances of one group share the partitions.
    pub group: String,
    /// Topic the verdicts go to (keyed by agent id), if any.
    pub verdicts_topic: Option<String>,
    /// The state changelog, co-partitioned with the input (created with as
    /// many partitions if missing); default `<group>-changelog`.
    pub changelog_topic: Option<String>,
    /// The consumer's session timeout: how soon a dead instance's
    /// partitions move to the others.
    #[serde(with = "duration_text")]
    pub session_timeout: Duration,
    /// How often state is flushed to the changelog and offsets committed.
    #[serde(with = "duration_text")]
    pub commit_interval: Duration,
    /// The input topic is not keyed by agent id: re-key it first, through
    /// the internal topic `<group>-repartition` (each event produced again
    /// keyed by its agent id), and evaluate that.
    pub rekey: bool,
    /// Partitions of the re-keying topic when it is created (default: as
    /// many as the input has).
    pub rekey_partitions: Option<usize>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            topic: "okta-events".into(),
            group: "riskgate".into(),
            verdicts_topic: None,
            changelog_topic: None,
            session_timeout: Duration::from_secs(6),
            commit_interval: Duration::from_secs(1),
            rekey: false,
            rekey_partitions: None,
        }
    }
}

impl KafkaConfig {
    /// The changelog topic.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub fn changelog(&self) -> String {
        self.changelog_topic
            .clone()
            .unwrap_or_else(|| format!("{}-changelog", self.group))
    }
}

/// Where events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// JSON lines on standard input.
    Stdin,
    /// A Kafka topic, read in a consumer group (`[kafka]`).
    Kafka,
}

/// Where verdicts go.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Verdicts as JSON lines on standard output.
    pub stdout: bool,
    /// Which verdicts: `notable` (a decision other than allow, or an
    /// alert), `matches` (any rule fired, shadow ones too) or `all`.
    pub verdicts: String,
}

/// State kept across restarts.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// Snapshot file: restored at start if it exists, written at exit and
    /// every `interval` (aside, then renamed over it).
    pub file: Option<PathBuf>,
    /// How often the snapshot is written while running (`0s`: only at exit).
    #[serde(with = "duration_text")]
    pub interval: Duration,
}

/// Bounds of the state, as `riskgate replay`'s flags.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Most agents with state.
    pub max_agents: usize,
    /// Most keys of keyed counters.
    pub max_keys: usize,
    /// Most keys one agent creates and keeps.
    pub max_keys_per_agent: usize,
    /// Budget of state bytes.
    pub max_state_bytes: usize,
    /// Forward-skew limit (`5m`; `off` for none).
    pub max_skew: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rules: PathBuf::from("rules.rules"),
            profiles: None,
            format: "auto".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            reload_poll: Duration::from_secs(1),
            input: Input::Stdin,
            output: OutputConfig::default(),
            state: StateConfig::default(),
            limits: LimitsConfig::default(),
            kafka: KafkaConfig::default(),
        }
    }
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            stdout: true,
            verdicts: "matches".into(),
        }
    }
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            file: None,
            interval: Duration::from_secs(300),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_agents: 1_000_000,
            max_keys: 1_000_000,
            max_keys_per_agent: riskgate::run::state::DEFAULT_MAX_KEYS_PER_AGENT,
            max_state_bytes: riskgate::run::state::DEFAULT_MAX_STATE_BYTES,
            max_skew: "5m".into(),
        }
    }
}

impl Config {
    /// The configuration of `args`: its file (if any) read, then its flags.
    pub fn load(args: &ServeArgs) -> Result<Self, String> {
        let mut config = match &args.config {
            Some(path) => {
                let shown = path.display();
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
                toml::from_str::<Config>(&text).map_err(|e| format!("`{shown}`: {e}"))?
            }
            None => Config::default(),
        };
        if let Some(r) = &args.rules {
            config.rules.clone_from(r);
        } else if args.config.is_none() {
            return Err("no rules: give `--rules FILE` or a `--config` file with `rules`".into());
        }
        if let Some(p) = &args.profiles {
            config.profiles = Some(p.clone());
        }
        if let Some(l) = args.listen {
            config.listen = l;
        }
        if let Some(s) = &args.state {
            config.state.file = Some(s.clone());
        }
        config.check()?;
        Ok(config)
    }

    /// Values a type cannot check.
    fn check(&self) -> Result<(), String> {
        self.format()?;
        self.skew()?;
        if !["notable", "matches", "all"].contains(&self.output.verdicts.as_str()) {
            return Err(format!(
                "output.verdicts: `{}` is not one of `notable`, `matches`, `all`",
                self.output.verdicts
            ));
        }
        if self.input == Input::Kafka && !cfg!(feature = "kafka") {
            return Err("input = \"kafka\" needs riskgate built with the `kafka` feature".into());
        }
        if self.reload_poll.is_zero() {
            return Err("reload_poll: must be longer than 0s".into());
        }
        Ok(())
    }

    /// The event format.
    pub fn format(&self) -> Result<Format, String> {
        self.format
            .parse::<Format>()
            .map_err(|e| format!("format: {}", e.0))
    }

    /// The forward-skew limit.
    pub fn skew(&self) -> Result<super::super::replay::Skew, String> {
        super::super::replay::parse_skew(&self.limits.max_skew)
            .map_err(|e| format!("limits.max_skew: {e}"))
    }
}

/// Durations written as text (`500ms`, `30s`, `5m`, `2h`).
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&riskgate::lang::ast::format_duration(
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        ))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration (`500ms`, `30s`, `5m`, `2h`)"
            ))
        })
    }

    pub fn parse(text: &str) -> Option<Duration> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit())?;
        let (n, unit) = text.split_at(split);
        let n: u64 = n.parse().ok()?;
        let ms = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        n.checked_mul(ms).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_with_every_key_reads_and_defaults_fill_the_rest() {
        let text = r#"
            rules = "a.rules"
            profiles = "p.json"
            format = "okta"
            listen = "127.0.0.1:9000"
            reload_poll = "250ms"
            input = "stdin"
            [output]
            verdicts = "notable"
            [state]
            file = "s.snap"
            interval = "30s"
            [limits]
            max_agents = 10
            max_skew = "off"
        "#;
        let c: Config = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.rules, PathBuf::from("a.rules"));
        assert_eq!(c.reload_poll, Duration::from_millis(250));
        assert_eq!(c.state.interval, Duration::from_secs(30));
        assert_eq!(c.limits.max_agents, 10);
        assert_eq!(c.limits.max_keys, 1_000_000);
        assert!(c.output.stdout);
        assert!(c.check().is_ok());
        assert_eq!(c.skew().map(|s| s.0), Ok(None));
    }

    #[test]
    fn mistakes_are_named() {
        let err = toml::from_str::<Config>("rulez = \"a\"")
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("rulez"), "{err}");
        let err = toml::from_str::<Config>("reload_poll = \"soon\"")
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("not a duration"), "{err}");
        let c: Config =
            toml::from_str("[output]\nverdicts = \"some\"").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.check().unwrap_err().contains("output.verdicts"));
    }
}
