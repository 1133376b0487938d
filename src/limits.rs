//! Limits that make hostile rules files fail with an error, never with a
//! stack overflow or an unbounded allocation.

/// Size limits for parsing and checking rules.
///
/// ```
/// let limits = riskgate::Limits { max_depth: 16, ..riskgate::Limits::default() };
/// assert_eq!(limits.max_rules, 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest rules file, in bytes (default 4 MiB).
    pub max_file_bytes: usize,
    /// Deepest nesting of parentheses, brackets, prefix operators and
    /// operator chains in one expression (default 64).
    pub max_depth: usize,
    /// Most items in one list (default 100 000).
    pub max_list_items: usize,
    /// Most rules in one file (default 10 000).
    pub max_rules: usize,
    /// Most list items over a whole rule set, inline and from files, each
    /// list file counted once however many declarations name it (default
    /// 1 000 000).
    pub max_total_list_items: usize,
    /// Most bytes of compiled regexes over a whole rule set (default
    /// 64 MiB): each distinct `matches` pattern is charged its compiled size
    /// plus its 256 KiB match cache; identical patterns are compiled once.
    /// One regex may use at most 1 MiB.
    pub max_regex_bytes: usize,
    /// Longest string `json(...)` decodes per event, in bytes (default
    /// 64 KiB); a longer one reads as absent.
    pub max_json_bytes: usize,
    /// Deepest nesting of arrays and objects `json(...)` decodes (default
    /// 32); a deeper document reads as absent.
    pub max_json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 4 << 20,
            max_depth: 64,
            max_list_items: 100_000,
            max_rules: 10_000,
            max_total_list_items: 1_000_000,
            max_regex_bytes: 64 << 20,
            max_json_bytes: 64 << 10,
            max_json_depth: 32,
        }
    }
}

/// Reads `file` to its end, or stops after `max + 1` bytes (more than `max`
/// means too large: `/dev/zero` or an endless pipe cannot exhaust memory).
///
/// ```
/// let bytes = riskgate::limits::read_capped(std::io::repeat(b'x'), 64)?;
/// assert_eq!(bytes.len(), 65); // more than 64: too large
/// let bytes = riskgate::limits::read_capped(&b"Rule 1"[..], 64)?;
/// assert_eq!(bytes, b"Rule 1");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_capped(file: impl std::io::Read, max: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    file.take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Opens `path` for reading without ever blocking: a FIFO (named pipe)
/// or a socket is refused before it is opened, and the file is opened
/// non-blocking on Unix, so a FIFO put in its place meanwhile cannot block
/// either (the handle is checked again once open). With `regular_only`,
/// devices (`/dev/zero`, `/dev/stdin`) and directories are refused too;
/// without, a device may be read (a capped read of `/dev/zero` ends at the
/// size limit).
///
/// # Errors
/// The open error, or `InvalidInput` naming what the path is.
pub fn open_input(path: &std::path::Path, regular_only: bool) -> std::io::Result<std::fs::File> {
    let refuse = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file"),
        )
    };
    let check = |meta: &std::fs::Metadata| -> std::io::Result<()> {
        let kind = meta.file_type();
        if kind.is_dir() {
            return Err(refuse("a directory"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt as _;
            if kind.is_fifo() {
                return Err(refuse("a FIFO (named pipe)"));
            }
            if kind.is_socket() {
                return Err(refuse("a socket"));
            }
        }
        if regular_only && !kind.is_file() {
            return Err(refuse("a device"));
        }
        Ok(())
    };
    check(&std::fs::metadata(path)?)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(O_NONBLOCK);
    }
    let file = options.open(path)?;
    check(&file.metadata()?)?;
    Ok(file)
}

/// `O_NONBLOCK` of the platform's `open(2)`.
#[cfg(any(target_os = "linux", target_os = "android"))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
const O_NONBLOCK: i32 = 0x0004;

/// Why a rules file could not be read as text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Missing or unreadable.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not UTF-8 (within the size limit).
    #[error("`{}` is not UTF-8 text (byte {at})", path.display())]
    NotUtf8 {
        /// The file.
        path: std::path::PathBuf,
        /// Offset of the first invalid byte.
        at: usize,
    },
}

/// Reads a rules file as text, no further than `limits.max_file_bytes` + 1
/// bytes. A larger file gives its first bytes (lossily decoded), so that
/// parsing them reports the size limit (E0102) with the first line; a
/// device or an endless pipe stops there too.
pub fn read_rules_file(path: &std::path::Path, limits: &Limits) -> Result<String, ReadError> {
    let max = limits.max_file_bytes;
    let bytes = open_input(path, false)
        .and_then(|f| read_capped(f, max))
        .map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() > max {
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        path: path.to_path_buf(),
        at: e.utf8_error().valid_up_to(),
    })
}
