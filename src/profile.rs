//! Agent profiles: what an agent is approved to do, read by
//! rules as `agent.<field>` and bound to lists with `list NAME = agent.scopes`.
//!
//! A profiles file holds one JSON object, a JSON array of objects, or one
//! object a line (JSONL). Each object needs a string `agent_id`, unique in the
//! file; every other key is a field.
//!
//! ```
//! use riskgate::profile::Profiles;
//! let profiles = Profiles::from_json_str(r#"
//! {"agent_id": "datadog-remediation-prod", "scopes": ["servicenow:incidents:create"],
//!  "token_lifetime_minutes": 15, "owner": {"team": "sre"}}
//! "#)?;
//! let p = profiles.get("datadog-remediation-prod").unwrap();
//! assert_eq!(p.get(&["token_lifetime_minutes"]), Some(&serde_json::json!(15)));
//! assert_eq!(p.get(&["owner", "team"]), Some(&serde_json::json!("sre")));
//! # Ok::<(), riskgate::profile::ProfileError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ahash::AHashMap;
use serde_json::{Map, Value};

mod strict;
use strict::Strict;

/// One agent's profile.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// The agent id (`agent_id`), the key events are matched by.
    pub agent_id: String,
    /// Every other key of the profile object (`agent_id` is not repeated here).
    pub fields: Map<String, Value>,
}

impl Profile {
    /// A profile of `agent_id` with `fields` (an `agent_id` key among them is dropped).
    pub fn new(agent_id: impl Into<String>, mut fields: Map<String, Value>) -> Profile {
        fields.remove("agent_id");
        Profile {
            agent_id: agent_id.into(),
            fields,
        }
    }

    /// Reads a profile object.
    ///
    /// # Errors
    /// [`ProfileErrorKind`] `NotAnObject`, `MissingAgentId`, `AgentIdNotString`
    /// or `EmptyAgentId`, at `location`.
    pub fn from_value(value: Value, location: Location) -> Result<Profile, ProfileError> {
        let mut fields = match value {
            Value::Object(map) => map,
            other => {
                return Err(ProfileError::at(
                    location,
                    ProfileErrorKind::NotAnObject {
                        found: crate::event::json_kind(&other),
                    },
                ))
            }
        };
        let agent_id = match fields.remove("agent_id") {
            None | Some(Value::Null) => {
                return Err(ProfileError::at(location, ProfileErrorKind::MissingAgentId))
            }
            Some(Value::String(s)) if s.is_empty() => {
                return Err(ProfileError::at(location, ProfileErrorKind::EmptyAgentId))
            }
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(ProfileError::at(
                    location,
                    ProfileErrorKind::AgentIdNotString {
                        found: crate::event::json_kind(&other),
                    },
                ))
            }
        };
        Ok(Profile { agent_id, fields })
    }

    /// The value at a path of nested objects: `["owner", "team"]` reads
    /// `agent.owner.team`. Keys match ignoring ASCII case, as `attr.` paths
    /// do in events: where an object holds keys that differ only by case,
    /// the exact key wins, else the first in document order. `None` when a
    /// key is absent or a step is not an object.
    ///
    /// ```
    /// use riskgate::profile::Profile;
    /// let fields = serde_json::json!({"limits": {"rpm": 20}});
    /// let p = Profile::new("a", fields.as_object().unwrap().clone());
    /// assert_eq!(p.get(&["limits", "rpm"]), Some(&serde_json::json!(20)));
    /// assert_eq!(p.get(&["Limits", "RPM"]), Some(&serde_json::json!(20)));
    /// assert_eq!(p.get(&["limits", "burst"]), None);
    /// assert_eq!(p.get(&[]), None);
    /// ```
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut cur = crate::event::get_ci(&self.fields, first)?;
        for key in rest {
            cur = crate::event::get_ci(cur.as_object()?, key)?;
        }
        Some(cur)
    }

    /// [`Profile::get`] with a dotted path (`"owner.team"`).
    pub fn get_dotted(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut cur = self.fields.get(parts.next()?)?;
        for key in parts {
            cur = cur.as_object()?.get(key)?;
        }
        Some(cur)
    }
}

/// Where in a profiles document an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A 1-based line (a JSONL line, or where a lone object starts).
    Line(usize),
    /// A 0-based element of a top-level JSON array.
    Index(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Index(i) => write!(f, "element [{i}]"),
        }
    }
}

/// What is wrong with a profiles document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileErrorKind {
    /// Not JSON (serde's message).
    #[error("invalid JSON: {message}")]
    InvalidJson {
        /// What the JSON parser said.
        message: String,
    },
    /// A profile that is not an object.
    #[error("a profile must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON kind found.
        found: &'static str,
    },
    /// A profile without `agent_id`.
    #[error("missing `agent_id`")]
    MissingAgentId,
    /// An `agent_id` that is not a string.
    #[error("`agent_id` must be a string, found {found}")]
    AgentIdNotString {
        /// The JSON kind found.
        found: &'static str,
    },
    /// An empty `agent_id`.
    #[error("`agent_id` must not be empty")]
    EmptyAgentId,
    /// An `agent_id` given to two profiles.
    #[error("duplicate `agent_id` `{agent_id}`, first defined at {first}")]
    DuplicateAgentId {
        /// The repeated id.
        agent_id: String,
        /// Where its first profile is.
        first: Location,
    },
}

/// An error in a profiles document, with where it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// A problem in the document.
    #[error("{location}: {kind}")]
    At {
        /// Where.
        location: Location,
        /// What.
        kind: ProfileErrorKind,
    },
    /// The file could not be read.
    #[error("cannot read profiles file `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A profiles file larger than [`MAX_PROFILES_FILE_BYTES`] (read no
    /// further, so `/dev/zero` or an endless pipe cannot exhaust memory).
    #[error("profiles file `{}` is larger than the limit of {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// A problem in a profiles file (from [`Profiles::from_path`]).
    #[error("`{}`: {error}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// The error in it.
        error: Box<ProfileError>,
    },
}

impl ProfileError {
    fn at(location: Location, kind: ProfileErrorKind) -> ProfileError {
        ProfileError::At { location, kind }
    }

    /// Where the error is in the document, when it is in one.
    pub fn location(&self) -> Option<Location> {
        match self {
            ProfileError::At { location, .. } => Some(*location),
            ProfileError::InFile { error, .. } => error.location(),
            ProfileError::Io { .. } | ProfileError::TooLarge { .. } => None,
        }
    }

    /// What is wrong, when the error is in a document.
    pub fn kind(&self) -> Option<&ProfileErrorKind> {
        match self {
            ProfileError::At { kind, .. } => Some(kind),
            ProfileError::InFile { error, .. } => error.kind(),
            ProfileError::Io { .. } | ProfileError::TooLarge { .. } => None,
        }
    }
}

/// Largest profiles file [`Profiles::from_path`] reads: 1 GiB (a million
/// agents' profiles take about 0.5 GB).
pub const MAX_PROFILES_FILE_BYTES: usize = 1 << 30;

/// Every agent's profile, by agent id. Profiles are shared (`Arc`) with the engine.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    map: AHashMap<String, Arc<Profile>>,
    /// Where each profile came from, for duplicate errors.
    origin: AHashMap<String, Location>,
}

impl Profiles {
    /// No profiles.
    pub fn new() -> Profiles {
        Profiles::default()
    }

    /// Reads a document holding one profile object, a JSON array of them, or
    /// one object a line (JSONL; blank lines are skipped). An empty document
    /// holds no profiles.
    ///
    /// # Errors
    /// The first problem, located by 1-based line (for JSONL and a lone
    /// object) or 0-based array index: invalid JSON, a profile that is not an
    /// object, a missing, empty or non-string `agent_id`, or an `agent_id`
    /// given twice.
    ///
    /// ```
    /// use riskgate::profile::{Location, ProfileErrorKind, Profiles};
    /// let ps = Profiles::from_json_str(r#"[{"agent_id": "a"}, {"agent_id": "b", "scopes": ["x"]}]"#)?;
    /// assert_eq!(ps.len(), 2);
    /// let err = Profiles::from_json_str("{\"agent_id\": \"a\"}\n{\"agent_id\": \"a\"}").unwrap_err();
    /// assert_eq!(err.location(), Some(Location::Line(2)));
    /// assert_eq!(err.to_string(), "line 2: duplicate `agent_id` `a`, first defined at line 1");
    /// # Ok::<(), riskgate::profile::ProfileError>(())
    /// ```
    pub fn from_json_str(text: &str) -> Result<Profiles, ProfileError> {
        // A byte-order mark before the JSON is not part of it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut profiles = Profiles::new();
        let start = text.len() - text.trim_start().len();
        if text.get(start..).is_some_and(|t| t.starts_with('[')) {
            let Strict(value) = serde_json::from_str(text).map_err(|e| json_error(&e))?;
            let items = match value {
                Value::Array(items) => items,
                _ => Vec::new(),
            };
            for (i, item) in items.into_iter().enumerate() {
                profiles.add(
                    Profile::from_value(item, Location::Index(i))?,
                    Location::Index(i),
                )?;
            }
            return Ok(profiles);
        }
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Strict>();
        let (mut counted_to, mut line) = (0, 1);
        loop {
            // The line where the next value starts, counted on from the last one.
            let rest = text.get(stream.byte_offset()..).unwrap_or("");
            let start = stream.byte_offset() + (rest.len() - rest.trim_start().len());
            line += count_newlines(text.get(counted_to..start).unwrap_or(""));
            counted_to = start;
            match stream.next() {
                None => break,
                Some(Err(e)) => return Err(json_error(&e)),
                Some(Ok(Strict(value))) => {
                    profiles.add(
                        Profile::from_value(value, Location::Line(line))?,
                        Location::Line(line),
                    )?;
                }
            }
        }
        Ok(profiles)
    }

    /// Reads a profiles file (see [`Profiles::from_json_str`]).
    ///
    /// # Errors
    /// [`ProfileError::Io`] when the file cannot be read (or is not UTF-8),
    /// [`ProfileError::TooLarge`] past [`MAX_PROFILES_FILE_BYTES`], else the
    /// error of [`Profiles::from_json_str`] wrapped in
    /// [`ProfileError::InFile`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<Profiles, ProfileError> {
        Self::from_path_capped(path, MAX_PROFILES_FILE_BYTES)
    }

    /// [`Profiles::from_path`] with a size limit of `max` bytes.
    pub fn from_path_capped(path: impl AsRef<Path>, max: usize) -> Result<Profiles, ProfileError> {
        let path = path.as_ref();
        let io = |source| ProfileError::Io {
            path: path.to_owned(),
            source,
        };
        let bytes = crate::limits::open_input(path, false)
            .and_then(|f| read_json_capped(f, max))
            .map_err(io)?;
        if bytes.len() > max {
            return Err(ProfileError::TooLarge {
                path: path.to_owned(),
                limit: max,
            });
        }
        let text = String::from_utf8(bytes)
            .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        Profiles::from_json_str(&text).map_err(|e| ProfileError::InFile {
            path: path.to_owned(),
            error: Box::new(e),
        })
    }

    fn add(&mut self, profile: Profile, location: Location) -> Result<(), ProfileError> {
        if let Some(first) = self.origin.get(&profile.agent_id) {
            return Err(ProfileError::at(
                location,
                ProfileErrorKind::DuplicateAgentId {
                    agent_id: profile.agent_id,
                    first: *first,
                },
            ));
        }
        self.origin.insert(profile.agent_id.clone(), location);
        self.map.insert(profile.agent_id.clone(), Arc::new(profile));
        Ok(())
    }

    /// The profile of `agent`.
    pub fn get(&self, agent: &str) -> Option<&Arc<Profile>> {
        self.map.get(agent)
    }

    /// Adds or replaces a profile, returning the one it replaces.
    pub fn insert(&mut self, profile: Profile) -> Option<Arc<Profile>> {
        self.origin.remove(&profile.agent_id);
        self.map.insert(profile.agent_id.clone(), Arc::new(profile))
    }

    /// How many profiles there are.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every profile, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<Profile>)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl FromIterator<Profile> for Profiles {
    /// Collects profiles; a later profile of the same agent replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = Profile>>(iter: I) -> Profiles {
        let mut profiles = Profiles::new();
        for p in iter {
            profiles.insert(p);
        }
        profiles
    }
}

/// A profile field whose type is not what the program reading it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProfileWarning {
    /// The profile's agent id.
    pub agent_id: String,
    /// Where the profile is in its file, if it came from one.
    pub location: Option<Location>,
    /// The field's path (`scopes`, `owner.team`).
    pub field: String,
    /// What is wrong, and how the engine reads it.
    pub problem: String,
}

impl fmt::Display for ProfileWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.location {
            write!(f, "{at}: ")?;
        }
        write!(
            f,
            "profile `{}`: `agent.{}` {}",
            crate::diagnostic::printable(&self.agent_id),
            self.field,
            self.problem
        )
    }
}

impl Profiles {
    /// The fields of these profiles whose type does not fit how `program`
    /// reads them, one warning each (sorted by location). A field read as a
    /// list (`list approved = agent.scopes`, `includes scope in
    /// agent.scopes`) must be an array of strings: any other value is read
    /// as an empty list (an absent list is empty: `not in` is true, which
    /// fails closed), and an element that is not a string is skipped. A
    /// field read as a value must not be an array or an object (it reads as
    /// unknown).
    ///
    /// ```
    /// use riskgate::{profile::Profiles, RuleSet};
    /// let rules = RuleSet::from_source("r.rules", "list ok = agent.scopes\n\
    ///     Rule 3: t\nTrigger: token request includes scope not in ok\nAction: deny\nSeverity: HIGH\n")?;
    /// let profiles = Profiles::from_json_str(r#"{"agent_id": "a", "scopes": "read"}"#)?;
    /// let warnings = profiles.check_types(rules.program());
    /// assert_eq!(warnings[0].to_string(),
    ///     "line 1: profile `a`: `agent.scopes` is a string, not a list of strings: read as an empty list");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_types(&self, program: &crate::Program) -> Vec<ProfileWarning> {
        let mut out = Vec::new();
        for (id, profile) in &self.map {
            for (slot, path) in program.profile_paths.iter().enumerate() {
                let segs: Vec<&str> = path.iter().map(|s| &**s).collect();
                let Some(value) = profile.get(&segs) else {
                    continue;
                };
                let as_list = program
                    .profile_list_slots
                    .get(slot)
                    .copied()
                    .unwrap_or(false);
                let problem = match (as_list, value) {
                    (_, Value::Null) => None,
                    (true, Value::Array(items)) => {
                        items.iter().position(|v| !v.is_string()).map(|i| {
                            format!(
                                "holds {} at [{i}], not a string: that element is skipped",
                                crate::event::json_kind(items.get(i).unwrap_or(&Value::Null))
                            )
                        })
                    }
                    (true, other) => Some(format!(
                        "is {}, not a list of strings: read as an empty list",
                        crate::event::json_kind(other)
                    )),
                    (false, other @ (Value::Array(_) | Value::Object(_))) => Some(format!(
                        "is {}, not a single value: read as unknown",
                        crate::event::json_kind(other)
                    )),
                    (false, _) => None,
                };
                if let Some(problem) = problem {
                    out.push(ProfileWarning {
                        agent_id: id.clone(),
                        location: self.origin.get(id).cloned(),
                        field: path.join("."),
                        problem,
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            (location_key(&a.location), &a.agent_id, &a.field).cmp(&(
                location_key(&b.location),
                &b.agent_id,
                &b.field,
            ))
        });
        out
    }
}

fn location_key(l: &Option<Location>) -> (usize, usize) {
    match l {
        Some(Location::Line(n)) => (0, *n),
        Some(Location::Index(i)) => (1, *i),
        None => (2, 0),
    }
}

fn json_error(e: &serde_json::Error) -> ProfileError {
    ProfileError::at(
        Location::Line(e.line().max(1)),
        ProfileErrorKind::InvalidJson {
            message: e.to_string(),
        },
    )
}

fn count_newlines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
}

/// Reads a profiles file up to `max` + 1 bytes, but fails at once when it
/// does not start like JSON: its first character other than white space
/// (after a byte-order mark) must be `{` or `[`. `/dev/zero`, a binary file
/// or a log given by mistake is refused after its first block, not after a
/// gigabyte.
fn read_json_capped(file: impl std::io::Read, max: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut file = file.take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1));
    let mut bytes = Vec::new();
    let mut block = [0u8; 4096];
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            return Ok(bytes);
        }
        bytes.extend_from_slice(block.get(..n).unwrap_or(&[]));
        let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        match text.iter().find(|b| !b.is_ascii_whitespace()) {
            None => continue,
            Some(b'{' | b'[') => break,
            Some(&b) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "not JSON: profiles start with `{{` or `[`, found byte 0x{b:02x} first"
                    ),
                ))
            }
        }
    }
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}
