//! Agent profiles: what an agent is approved to do, read by
//! rules as `agent.<field>` and bound to lists with `list NAME = agent.scopes`.
//!
//! A profiles file holds one JSON object, a JSON array of objects, or one
//! object a line (JSONL). Each object needs a string `agent_id`, unique in the
//! file; every other key is a field.
//!
//! ```
//! use riskgate::input::profile::Profiles;
//! let profiles = Profiles::from_json_str(r#"
//! {"agent_id": "datadog-remediation-prod", "scopes": ["servicenow:incidents:create"],
//!  "token_lifetime_minutes": 15, "owner": {"team": "sre"}}
//! "#)?;
//! let p = profiles.get("datadog-remediation-prod").unwrap();
//! assert_eq!(p.get(&["token_lifetime_minutes"]).and_then(|v| v.as_i64()), Some(15));
//! assert_eq!(p.get(&["owner", "team"]).and_then(|v| v.as_str()), Some("sre"));
//! # Ok::<(), riskgate::input::profile::ProfileError>(())
//! ```
//!
//! Profiles are held compactly: each distinct string of a document once
//! (interned), lists and objects as slices of 24-byte [`ProfileValue`]s,
//! shared with the engine rather than copied, and a document is read one
//! profile at a time (a JSON array too). Loaded profiles hold about 2 bytes
//! for each byte of a typical profiles file, and at most about 12 for any
//! file of more than a few kilobytes (the worst: a long list of one-digit
//! numbers, 24 bytes for each `0,`); while a long list is read it briefly
//! takes up to twice what it keeps.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ahash::AHashMap;
use serde_json::{Map, Number, Value};

mod strict;
use strict::{Interner, Interning, Item};

/// The entries of an object, in document order.
type Entries = Arc<[(Arc<str>, ProfileValue)]>;

/// A JSON value held in a profile. Cloning one is cheap: strings, lists and
/// objects are shared (`Arc`), not copied.
///
/// ```
/// use riskgate::input::profile::ProfileValue;
/// let v = ProfileValue::from_json(&serde_json::json!({"team": "sre", "rpm": [20, 40]}));
/// assert_eq!(v.get("TEAM").and_then(ProfileValue::as_str), Some("sre"));
/// assert_eq!(v.get("rpm").and_then(ProfileValue::as_array).map(<[_]>::len), Some(2));
/// assert_eq!(v.to_json(), serde_json::json!({"team": "sre", "rpm": [20, 40]}));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(Arc<str>),
    /// An array.
    Array(Arc<[ProfileValue]>),
    /// An object: its entries in document order (keys are unique).
    Object(Arc<[(Arc<str>, ProfileValue)]>),
}

impl ProfileValue {
    /// The value of a JSON value.
    pub fn from_json(value: &Value) -> ProfileValue {
        Self::from_json_with(value, &mut Interner::new())
    }

    fn from_json_with(value: &Value, interner: &mut Interner) -> ProfileValue {
        match value {
            Value::Null => ProfileValue::Null,
            Value::Bool(b) => ProfileValue::Bool(*b),
            Value::Number(n) => ProfileValue::Number(n.clone()),
            Value::String(s) => ProfileValue::String(interner.str(s)),
            Value::Array(items) => {
                let items = items
                    .iter()
                    .map(|v| Self::from_json_with(v, interner))
                    .collect();
                interner.array(items)
            }
            Value::Object(map) => {
                let entries = map
                    .iter()
                    .map(|(k, v)| (interner.str(k), Self::from_json_with(v, interner)))
                    .collect();
                interner.object(entries)
            }
        }
    }

    /// The JSON value (a copy).
    pub fn to_json(&self) -> Value {
        match self {
            ProfileValue::Null => Value::Null,
            ProfileValue::Bool(b) => Value::Bool(*b),
            ProfileValue::Number(n) => Value::Number(n.clone()),
            ProfileValue::String(s) => Value::String(s.to_string()),
            ProfileValue::Array(items) => Value::Array(items.iter().map(Self::to_json).collect()),
            ProfileValue::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The value of `key` in an object. Keys match ignoring ASCII case, as
    /// `attr.` paths do in events: where keys differ only by case, the exact
    /// key wins, else the first in document order. `None` when the key is
    /// absent or this is not an object.
    pub fn get(&self, key: &str) -> Option<&ProfileValue> {
        match self {
            ProfileValue::Object(entries) => get_ci(entries, key),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ProfileValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[ProfileValue]> {
        match self {
            ProfileValue::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ProfileValue::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The number as an `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ProfileValue::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, ProfileValue::Null)
    }

    /// True for a string.
    pub fn is_string(&self) -> bool {
        matches!(self, ProfileValue::String(_))
    }

    /// The JSON kind as messages name it (`a string`, `an array`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            ProfileValue::Null => "null",
            ProfileValue::Bool(_) => "a boolean",
            ProfileValue::Number(_) => "a number",
            ProfileValue::String(_) => "a string",
            ProfileValue::Array(_) => "an array",
            ProfileValue::Object(_) => "an object",
        }
    }
}

/// The value of `key` among `entries`: the exact key first, else the first
/// equal to it ignoring ASCII case.
fn get_ci<'v>(entries: &'v [(Arc<str>, ProfileValue)], key: &str) -> Option<&'v ProfileValue> {
    entries
        .iter()
        .find(|(k, _)| **k == *key)
        .or_else(|| entries.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
        .map(|(_, v)| v)
}

/// One agent's profile.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// The agent id (`agent_id`), the key events are matched by.
    pub agent_id: Arc<str>,
    /// Every other key of the profile object, in document order.
    fields: Box<[(Arc<str>, ProfileValue)]>,
}

impl Profile {
    /// A profile of `agent_id` with `fields` (an `agent_id` key among them is dropped).
    pub fn new(agent_id: impl Into<Arc<str>>, fields: Map<String, Value>) -> Profile {
        let mut interner = Interner::new();
        Profile {
            agent_id: agent_id.into(),
            fields: fields
                .iter()
                .filter(|(k, _)| *k != "agent_id")
                .map(|(k, v)| {
                    (
                        interner.str(k),
                        ProfileValue::from_json_with(v, &mut interner),
                    )
                })
                .collect(),
        }
    }

    /// Reads a profile object.
    ///
    /// # Errors
    /// [`ProfileErrorKind`] `NotAnObject`, `MissingAgentId`, `AgentIdNotString`
    /// or `EmptyAgentId`, at `location`.
    pub fn from_value(value: Value, location: Location) -> Result<Profile, ProfileError> {
        Profile::from_profile_value(&ProfileValue::from_json(&value), location)
    }

    fn from_profile_value(
        value: &ProfileValue,
        location: Location,
    ) -> Result<Profile, ProfileError> {
        let ProfileValue::Object(entries) = value else {
            return Err(ProfileError::at(
                location,
                ProfileErrorKind::NotAnObject {
                    found: value.kind(),
                },
            ));
        };
        let agent_id = match entries.iter().find(|(k, _)| &**k == "agent_id") {
            None | Some((_, ProfileValue::Null)) => {
                return Err(ProfileError::at(location, ProfileErrorKind::MissingAgentId))
            }
            Some((_, ProfileValue::String(s))) if s.is_empty() => {
                return Err(ProfileError::at(location, ProfileErrorKind::EmptyAgentId))
            }
            Some((_, ProfileValue::String(s))) => Arc::clone(s),
            Some((_, other)) => {
                return Err(ProfileError::at(
                    location,
                    ProfileErrorKind::AgentIdNotString {
                        found: other.kind(),
                    },
                ))
            }
        };
        let fields = entries
            .iter()
            .filter(|(k, _)| &**k != "agent_id")
            .cloned()
            .collect();
        Ok(Profile { agent_id, fields })
    }

    /// Every field but `agent_id`: its key and value, in document order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&str, &ProfileValue)> {
        self.fields.iter().map(|(k, v)| (&**k, v))
    }

    /// The value at a path of nested objects: `["owner", "team"]` reads
    /// `agent.owner.team`. Keys match ignoring ASCII case, as `attr.` paths
    /// do in events: where an object holds keys that differ only by case,
    /// the exact key wins, else the first in document order. `None` when a
    /// key is absent or a step is not an object.
    ///
    /// ```
    /// use riskgate::input::profile::Profile;
    /// let fields = serde_json::json!({"limits": {"rpm": 20}});
    /// let p = Profile::new("a", fields.as_object().unwrap().clone());
    /// assert_eq!(p.get(&["limits", "rpm"]).and_then(|v| v.as_i64()), Some(20));
    /// assert_eq!(p.get(&["Limits", "RPM"]).and_then(|v| v.as_i64()), Some(20));
    /// assert_eq!(p.get(&["limits", "burst"]), None);
    /// assert_eq!(p.get(&[]), None);
    /// ```
    pub fn get(&self, path: &[&str]) -> Option<&ProfileValue> {
        let (first, rest) = path.split_first()?;
        let mut cur = get_ci(&self.fields, first)?;
        for key in rest {
            cur = cur.get(key)?;
        }
        Some(cur)
    }

    /// [`Profile::get`] with a dotted path (`"owner.team"`).
    pub fn get_dotted(&self, path: &str) -> Option<&ProfileValue> {
        self.get(&path.split('.').collect::<Vec<_>>())
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
    /// Each profile (keyed by its own `agent_id`), and where it came from,
    /// for duplicate errors and warnings.
    map: AHashMap<Arc<str>, (Arc<Profile>, Option<Location>)>,
}

impl Profiles {
    /// No profiles.
    pub fn new() -> Profiles {
        Profiles::default()
    }

    /// Reads a document holding one profile object, a JSON array of them, or
    /// one object a line (JSONL; blank lines are skipped). An empty document
    /// holds no profiles. An object may not hold a key twice, at any depth.
    ///
    /// # Errors
    /// The first problem, located by 1-based line (for JSONL and a lone
    /// object) or 0-based array index: invalid JSON, a profile that is not an
    /// object, a missing, empty or non-string `agent_id`, or an `agent_id`
    /// given twice.
    ///
    /// ```
    /// use riskgate::input::profile::{Location, ProfileErrorKind, Profiles};
    /// let ps = Profiles::from_json_str(r#"[{"agent_id": "a"}, {"agent_id": "b", "scopes": ["x"]}]"#)?;
    /// assert_eq!(ps.len(), 2);
    /// let err = Profiles::from_json_str("{\"agent_id\": \"a\"}\n{\"agent_id\": \"a\"}").unwrap_err();
    /// assert_eq!(err.location(), Some(Location::Line(2)));
    /// assert_eq!(err.to_string(), "line 2: duplicate `agent_id` `a`, first defined at line 1");
    /// # Ok::<(), riskgate::input::profile::ProfileError>(())
    /// ```
    pub fn from_json_str(text: &str) -> Result<Profiles, ProfileError> {
        // A byte-order mark before the JSON is not part of it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Strings repeat across profiles (keys, scopes): each is held once.
        let _interning = Interning::start();
        let mut profiles = Profiles::new();
        let start = text.len() - text.trim_start().len();
        if text.get(start..).is_some_and(|t| t.starts_with('[')) {
            // One element at a time: the array is never held whole.
            let mut failed = None;
            let mut de = serde_json::Deserializer::from_str(text);
            let read = serde::Deserializer::deserialize_seq(
                &mut de,
                EachItem(|i, Item(value)| {
                    let at = Location::Index(i);
                    Profile::from_profile_value(&value, at)
                        .and_then(|p| profiles.add(p, at))
                        .map_err(|e| failed = Some(e))
                }),
            )
            .and_then(|()| de.end());
            return match (read, failed) {
                (_, Some(e)) => Err(e),
                (Err(e), None) => Err(json_error(&e)),
                (Ok(()), None) => Ok(profiles),
            };
        }
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Item>();
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
                Some(Ok(Item(value))) => {
                    let at = Location::Line(line);
                    profiles.add(Profile::from_profile_value(&value, at)?, at)?;
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
        if let Some((_, first)) = self.map.get(&profile.agent_id) {
            return Err(ProfileError::at(
                location,
                ProfileErrorKind::DuplicateAgentId {
                    agent_id: profile.agent_id.to_string(),
                    first: first.unwrap_or(location),
                },
            ));
        }
        self.map.insert(
            Arc::clone(&profile.agent_id),
            (Arc::new(profile), Some(location)),
        );
        Ok(())
    }

    /// The profile of `agent`.
    pub fn get(&self, agent: &str) -> Option<&Arc<Profile>> {
        self.map.get(agent).map(|(p, _)| p)
    }

    /// Adds or replaces a profile, returning the one it replaces.
    pub fn insert(&mut self, profile: Profile) -> Option<Arc<Profile>> {
        self.map
            .insert(Arc::clone(&profile.agent_id), (Arc::new(profile), None))
            .map(|(p, _)| p)
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
        self.map.iter().map(|(k, (p, _))| (&**k, p))
    }
}

/// Hands each element of a JSON array to `self.0` with its index; stops at
/// the first element it refuses.
struct EachItem<F>(F);

impl<'de, F: FnMut(usize, Item) -> Result<(), ()>> serde::de::Visitor<'de> for EachItem<F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of profiles")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(item) = seq.next_element::<Item>()? {
            (self.0)(i, item).map_err(|()| serde::de::Error::custom("stopped"))?;
            i += 1;
        }
        Ok(())
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
            crate::lang::diagnostic::printable(&self.agent_id),
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
    /// use riskgate::{input::profile::Profiles, RuleSet};
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
        for (id, (profile, origin)) in &self.map {
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
                    (_, ProfileValue::Null) => None,
                    (true, ProfileValue::Array(items)) => items
                        .iter()
                        .enumerate()
                        .find(|(_, v)| !v.is_string())
                        .map(|(i, v)| {
                            format!(
                                "holds {} at [{i}], not a string: that element is skipped",
                                v.kind()
                            )
                        }),
                    (true, other) => Some(format!(
                        "is {}, not a list of strings: read as an empty list",
                        other.kind()
                    )),
                    (false, other @ (ProfileValue::Array(_) | ProfileValue::Object(_))) => Some(
                        format!("is {}, not a single value: read as unknown", other.kind()),
                    ),
                    (false, _) => None,
                };
                if let Some(problem) = problem {
                    out.push(ProfileWarning {
                        agent_id: id.to_string(),
                        location: *origin,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An endless reader of one byte, counting what it hands out.
    struct Endless {
        byte: u8,
        read: usize,
    }

    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(self.byte);
            self.read += buf.len();
            Ok(buf.len())
        }
    }

    /// Hardening item 9: `--profiles /dev/zero` read the whole 1 GiB limit
    /// before failing; a source that does not start like JSON is refused
    /// after its first block.
    #[test]
    fn item09_a_source_that_is_not_json_is_refused_after_one_block() {
        for byte in [0, b'x', 0xff] {
            let mut zero = Endless { byte, read: 0 };
            let err = read_json_capped(&mut zero, MAX_PROFILES_FILE_BYTES)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with("not JSON"), "{err}");
            assert_eq!(zero.read, 4096, "byte {byte:#04x}");
        }
        // White space alone is read on (the JSON may come after it), up to
        // the limit.
        let mut spaces = Endless {
            byte: b' ',
            read: 0,
        };
        let read = read_json_capped(&mut spaces, 1 << 20).map(|b| b.len());
        assert_eq!(read.ok(), Some((1 << 20) + 1));
    }
}
