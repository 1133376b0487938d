//! Snapshots of an engine's state: written while it runs, restored into a
//! new engine (under the same program or a compatible one), so a restart or
//! a move to another machine forgets nothing.
//!
//! # Format (version 2)
//!
//! ```text
//! magic    8 bytes   "RGSNAP\r\n"
//! version  u16 LE    2
//! chunks   kind u8 | length u32 LE | CRC-32 u32 LE | payload (length bytes)
//! ```
//!
//! The CRC-32 covers the kind, the length and the payload. Payloads are
//! [postcard](https://postcard.jamesmunns.com/wire-format) (serde's compact
//! format, stable since its 1.0). The chunks come in this order:
//!
//! | kind | payload |
//! |---|---|
//! | 1, header | the state layout (each metric's canonical definition and shape, each cooldown's rule id), the key hasher's seeds, the partitions kept, the input position |
//! | 2, agents | up to 512 agents: stored key and state |
//! | 3, keys | up to 4,096 keys of keyed counters: map, hash, state |
//! | 4, end | how many agents and keys came before it |
//!
//! Nothing may follow the end chunk. A chunk longer than 64 MiB is refused
//! before it is read.
//!
//! Writing copies one agent at a time under its own lock: evaluations of
//! other agents go on, and no copy of the whole store is made. Restoring
//! reads the whole snapshot into a store no one else can see, and hands it
//! over only when every chunk was read and checked: a truncated, corrupt,
//! wrong-version or wrong-program snapshot is an error, and nothing of it is
//! loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::run::state::{AgentRecord, KeyRecord, Layout, RecordError, StateError, StateStore};

/// The first bytes of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"RGSNAP\r\n";
/// The format version this build writes and reads.
///
/// Version 2 added the state of the metrics that remember earlier events
/// (`since`, `first`, `previous`, `sequence`, `tracked_for`, keyed
/// `distinct` and `first_seen`) to agents, keys and the layout; a version 1
/// snapshot is refused with [`RestoreError::Version`].
pub const SNAPSHOT_VERSION: u16 = 2;
/// Longest chunk read.
const MAX_CHUNK_BYTES: u32 = 64 << 20;
/// Agents per agents chunk.
const AGENTS_PER_CHUNK: usize = 512;
/// Keys per keys chunk.
const KEYS_PER_CHUNK: usize = 4096;

const HEADER: u8 = 1;
const AGENTS: u8 = 2;
const KEYS: u8 = 3;
const END: u8 = 4;

/// Which agents a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SnapshotFilter {
    /// Every tracked agent, and every key.
    #[default]
    All,
    /// The agents of some partitions out of `count`
    /// ([`partition_of`](crate::partition::partition_of)`(agent, count)` in
    /// `keep`), and the keys their events created.
    Partitions {
        /// Number of partitions.
        count: u32,
        /// The partitions kept.
        keep: BTreeSet<u32>,
    },
    /// These agents (by id), without keys: a changelog's per-agent records.
    Agents(BTreeSet<String>),
    /// Every key of the keyed counters, no agent.
    KeysOnly,
}

impl SnapshotFilter {
    /// The agents of partition `p` out of `count`.
    pub fn partition(p: u32, count: u32) -> Self {
        SnapshotFilter::Partitions {
            count,
            keep: [p].into_iter().collect(),
        }
    }

    fn keeps(&self, agent: &str) -> bool {
        match self {
            SnapshotFilter::All => true,
            SnapshotFilter::Partitions { count, keep } => {
                keep.contains(&crate::partition::partition_of(agent, *count))
            }
            SnapshotFilter::Agents(ids) => ids.contains(agent),
            SnapshotFilter::KeysOnly => false,
        }
    }

    /// Which keys go with the agents: all, those the agents created, none.
    fn keys(&self) -> Keys {
        match self {
            SnapshotFilter::All | SnapshotFilter::KeysOnly => Keys::All,
            SnapshotFilter::Partitions { .. } => Keys::Owned,
            SnapshotFilter::Agents(_) => Keys::None,
        }
    }
}

/// Which keys a snapshot holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    All,
    Owned,
    None,
}

/// The header chunk.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    layout: Layout,
    key_seeds: [u64; 4],
    /// `(count, kept)` for a partial snapshot.
    partitions: Option<(u32, Vec<u32>)>,
    /// Where the input stood (`"line"`, or `"topic/partition"` offsets).
    position: BTreeMap<String, u64>,
}

/// The end chunk.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Trailer {
    agents: u64,
    keys: u64,
}

/// What a snapshot held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotSummary {
    /// Agents written or read.
    pub agents: u64,
    /// Keys of keyed counters written or read.
    pub keys: u64,
    /// Bytes of the snapshot.
    pub bytes: u64,
    /// The input position it was taken at.
    pub position: BTreeMap<String, u64>,
}

/// Why a snapshot could not be restored. Nothing of it was loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// Reading failed.
    #[error("reading the snapshot: {0}")]
    Io(#[from] io::Error),
    /// The data is not a riskgate snapshot.
    #[error("not a riskgate snapshot (its first bytes are not the snapshot magic)")]
    NotASnapshot,
    /// A snapshot of another format version.
    #[error("snapshot format version {found}; this build reads version {supported}")]
    Version {
        /// The version found.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// The data ends before the snapshot does.
    #[error("the snapshot is truncated at byte {offset} (in chunk {chunk})")]
    Truncated {
        /// Byte offset where the data ended.
        offset: u64,
        /// Chunk number (0: the header).
        chunk: u64,
    },
    /// A chunk's checksum does not match its content.
    #[error("chunk {chunk} at byte {offset} is corrupt: its checksum does not match")]
    Checksum {
        /// Chunk number.
        chunk: u64,
        /// Byte offset of the chunk.
        offset: u64,
    },
    /// A chunk that cannot be read, or out of order.
    #[error("chunk {chunk} at byte {offset}: {reason}")]
    Corrupt {
        /// Chunk number.
        chunk: u64,
        /// Byte offset of the chunk.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A record that does not fit the layout the snapshot declares.
    #[error("chunk {chunk} at byte {offset}: {source}")]
    Record {
        /// Chunk number.
        chunk: u64,
        /// Byte offset of the chunk.
        offset: u64,
        /// What is wrong.
        source: RecordError,
    },
    /// The layout in the snapshot (or the program's) is invalid.
    #[error("the snapshot's state layout is invalid: {0}")]
    Layout(#[from] StateError),
    /// The snapshot shares no metric or cooldown with the program: it was
    /// taken under another rule set.
    #[error(
        "the snapshot was taken under another program: none of its {snapshot} metrics and cooldowns is one of the program's {program}"
    )]
    WrongProgram {
        /// Metrics and cooldowns in the snapshot.
        snapshot: usize,
        /// Metrics and cooldowns of the program.
        program: usize,
    },
}

/// Counts bytes written.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn write_chunk<W: Write>(w: &mut W, kind: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&l| l <= MAX_CHUNK_BYTES)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "snapshot chunk too large"))?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind]);
    crc.update(&len.to_le_bytes());
    crc.update(payload);
    w.write_all(&[kind])?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(&crc.finalize().to_le_bytes())?;
    w.write_all(payload)
}

fn encode<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes a snapshot of `store` (whose program has `layout`) to `w`.
pub(crate) fn write_snapshot<W: Write>(
    store: &StateStore,
    w: W,
    filter: &SnapshotFilter,
    position: BTreeMap<String, u64>,
) -> io::Result<SnapshotSummary> {
    let mut w = Counting { inner: w, bytes: 0 };
    w.write_all(&SNAPSHOT_MAGIC)?;
    w.write_all(&SNAPSHOT_VERSION.to_le_bytes())?;
    let partitions = match filter {
        SnapshotFilter::Partitions { count, keep } => {
            Some((*count, keep.iter().copied().collect()))
        }
        _ => None,
    };
    let header = Header {
        layout: store.layout(),
        key_seeds: store.key_seeds(),
        partitions,
        position: position.clone(),
    };
    write_chunk(&mut w, HEADER, &encode(&header)?)?;
    let mut summary = SnapshotSummary {
        position,
        ..SnapshotSummary::default()
    };
    // Keys of a partial snapshot: those its agents' events created.
    let mut owned: BTreeSet<(u32, u64, u32)> = BTreeSet::new();
    let keys_kept = filter.keys();
    let all = keys_kept == Keys::All;
    let mut batch: Vec<AgentRecord> = Vec::with_capacity(AGENTS_PER_CHUNK);
    store.each_agent(&|key| filter.keeps(key), &mut |record| {
        if !all {
            owned.extend(StateStore::owned_keys_of(&record));
        }
        batch.push(record);
        summary.agents += 1;
        if batch.len() == AGENTS_PER_CHUNK {
            write_chunk(&mut w, AGENTS, &encode(&batch)?)?;
            batch.clear();
        }
        Ok::<(), io::Error>(())
    })?;
    if !batch.is_empty() {
        write_chunk(&mut w, AGENTS, &encode(&batch)?)?;
    }
    let mut keys: Vec<KeyRecord> = Vec::with_capacity(KEYS_PER_CHUNK.min(1024));
    store.each_key(
        &|map, hash, serial| match keys_kept {
            Keys::All => true,
            Keys::Owned => owned.contains(&(map, hash, serial)),
            Keys::None => false,
        },
        &mut |record| {
            keys.push(record);
            summary.keys += 1;
            if keys.len() == KEYS_PER_CHUNK {
                write_chunk(&mut w, KEYS, &encode(&keys)?)?;
                keys.clear();
            }
            Ok::<(), io::Error>(())
        },
    )?;
    if !keys.is_empty() {
        write_chunk(&mut w, KEYS, &encode(&keys)?)?;
    }
    let trailer = Trailer {
        agents: summary.agents,
        keys: summary.keys,
    };
    write_chunk(&mut w, END, &encode(&trailer)?)?;
    w.flush()?;
    summary.bytes = w.bytes;
    Ok(summary)
}

/// Reads exactly `buf.len()` bytes; a short read is [`RestoreError::Truncated`].
fn read_exact<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    offset: u64,
    chunk: u64,
) -> Result<(), RestoreError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => RestoreError::Truncated { offset, chunk },
        _ => RestoreError::Io(e),
    })
}

/// A snapshot being read: chunk by chunk, each checked.
struct Reader<R> {
    r: R,
    offset: u64,
    chunk: u64,
}

impl<R: Read> Reader<R> {
    /// The next chunk: its kind and payload, checksum verified.
    fn next(&mut self) -> Result<(u8, Vec<u8>), RestoreError> {
        let at = self.offset;
        let mut head = [0u8; 9];
        read_exact(&mut self.r, &mut head, at, self.chunk)?;
        let [kind, l0, l1, l2, l3, c0, c1, c2, c3] = head;
        let len = u32::from_le_bytes([l0, l1, l2, l3]);
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        if len > MAX_CHUNK_BYTES {
            return Err(self.corrupt(
                at,
                format!("a chunk of {len} bytes is longer than the limit"),
            ));
        }
        let mut payload = Vec::new();
        let read = (&mut self.r)
            .take(u64::from(len))
            .read_to_end(&mut payload)?;
        if read != len as usize {
            return Err(RestoreError::Truncated {
                offset: at + 9 + read as u64,
                chunk: self.chunk,
            });
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&[kind]);
        hasher.update(&len.to_le_bytes());
        hasher.update(&payload);
        if hasher.finalize() != crc {
            return Err(RestoreError::Checksum {
                chunk: self.chunk,
                offset: at,
            });
        }
        self.offset = at + 9 + u64::from(len);
        self.chunk += 1;
        Ok((kind, payload))
    }

    fn corrupt(&self, offset: u64, reason: String) -> RestoreError {
        RestoreError::Corrupt {
            chunk: self.chunk,
            offset,
            reason,
        }
    }

    fn decode<T: for<'de> Deserialize<'de>>(
        &self,
        payload: &[u8],
        what: &str,
    ) -> Result<T, RestoreError> {
        let (value, rest) = postcard::take_from_bytes::<T>(payload)
            .map_err(|e| self.corrupt(self.offset, format!("the {what} cannot be read: {e}")))?;
        if !rest.is_empty() {
            return Err(self.corrupt(
                self.offset,
                format!("{} bytes after the {what}", rest.len()),
            ));
        }
        Ok(value)
    }
}

/// A snapshot read and checked, in a store of its own layout.
pub struct Restored {
    pub(crate) store: StateStore,
    pub(crate) summary: SnapshotSummary,
}

/// Reads a whole snapshot into a new store with `config`; `tag` gives each
/// agent's tag by its stored key.
pub(crate) fn read_snapshot<R: Read>(
    r: R,
    config: crate::run::state::StoreConfig,
    tag: &dyn Fn(&str) -> u32,
) -> Result<Restored, RestoreError> {
    read_into(r, None, config, tag)
}

/// Reads several snapshots (a changelog's records) into one new store: all
/// of one layout and one key hasher, else [`RestoreError::Corrupt`] names
/// the part that differs. The summary counts all; its position is the
/// first part's. `None` for no part.
pub(crate) fn read_parts<'p>(
    parts: impl IntoIterator<Item = &'p [u8]>,
    config: crate::run::state::StoreConfig,
    tag: &dyn Fn(&str) -> u32,
) -> Result<Option<Restored>, RestoreError> {
    let mut all: Option<Restored> = None;
    for part in parts {
        match all.as_mut() {
            None => all = Some(read_into(part, None, config.clone(), tag)?),
            Some(prev) => {
                let next = read_into(part, Some(&prev.store), config.clone(), tag)?;
                prev.summary.agents += next.summary.agents;
                prev.summary.keys += next.summary.keys;
                prev.summary.bytes += next.summary.bytes;
            }
        }
    }
    Ok(all)
}

/// [`read_snapshot`], into `into` when given (a store of the same layout
/// and seeds; the returned store is then an empty one to drop).
fn read_into<R: Read>(
    r: R,
    into: Option<&StateStore>,
    config: crate::run::state::StoreConfig,
    tag: &dyn Fn(&str) -> u32,
) -> Result<Restored, RestoreError> {
    let mut r = Reader {
        r,
        offset: 0,
        chunk: 0,
    };
    let mut magic = [0u8; 8];
    read_exact(&mut r.r, &mut magic, 0, 0).map_err(|e| match e {
        RestoreError::Truncated { .. } => RestoreError::NotASnapshot,
        other => other,
    })?;
    if magic != SNAPSHOT_MAGIC {
        return Err(RestoreError::NotASnapshot);
    }
    let mut version = [0u8; 2];
    read_exact(&mut r.r, &mut version, 8, 0)?;
    let version = u16::from_le_bytes(version);
    if version != SNAPSHOT_VERSION {
        return Err(RestoreError::Version {
            found: version,
            supported: SNAPSHOT_VERSION,
        });
    }
    r.offset = 10;
    let (kind, payload) = r.next()?;
    if kind != HEADER {
        return Err(r.corrupt(
            10,
            format!("the first chunk is of kind {kind}, not the header"),
        ));
    }
    let header: Header = r.decode(&payload, "header")?;
    if let Some(into) = into {
        if into.layout() != header.layout || into.key_seeds() != header.key_seeds {
            return Err(r.corrupt(10, "a part of another layout or key hasher".into()));
        }
    }
    let fresh = StateStore::with_seeds(header.layout, config, header.key_seeds)?;
    let store = into.unwrap_or(&fresh);
    let mut summary = SnapshotSummary {
        position: header.position,
        ..SnapshotSummary::default()
    };
    loop {
        let at = r.offset;
        let (kind, payload) = r.next()?;
        let chunk = r.chunk - 1;
        let record = |source| RestoreError::Record {
            chunk,
            offset: at,
            source,
        };
        match kind {
            AGENTS if summary.keys == 0 => {
                let agents: Vec<AgentRecord> = r.decode(&payload, "agents")?;
                for a in agents {
                    let t = tag(&a.key);
                    store.insert_agent(a, t).map_err(record)?;
                    summary.agents += 1;
                }
            }
            KEYS => {
                let keys: Vec<KeyRecord> = r.decode(&payload, "keys")?;
                for k in keys {
                    store.insert_key(k).map_err(record)?;
                    summary.keys += 1;
                }
            }
            END => {
                let t: Trailer = r.decode(&payload, "end")?;
                if (t.agents, t.keys) != (summary.agents, summary.keys) {
                    return Err(r.corrupt(
                        at,
                        format!(
                            "the end says {} agents and {} keys, the chunks held {} and {}",
                            t.agents, t.keys, summary.agents, summary.keys
                        ),
                    ));
                }
                let mut extra = [0u8; 1];
                if r.r.read(&mut extra)? != 0 {
                    return Err(r.corrupt(r.offset, "data after the end of the snapshot".into()));
                }
                summary.bytes = r.offset;
                return Ok(Restored {
                    store: fresh,
                    summary,
                });
            }
            other => {
                return Err(r.corrupt(at, format!("a chunk of kind {other} is not expected here")));
            }
        }
    }
}
