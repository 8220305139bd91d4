//! The one error type of brig: each variant names the step that failed.

use std::fmt;
use std::io;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug)]
pub enum Error {
    /// config.json (or a process.json) is invalid; `field` is the JSON path of the bad field.
    Config {
        field: String,
        problem: String,
    },
    /// A step of the runtime failed with an OS error.
    Os {
        step: String,
        source: io::Error,
    },
    /// The container id is not known under the state root.
    NoSuchContainer,
    AlreadyExists,
    InvalidId,
    NotRunning,
    /// A flag or config field brig recognises but does not implement yet.
    Unsupported(String),
    /// Any other failure, already phrased for the user.
    Msg(String),
}

impl Error {
    pub fn config(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            problem: problem.into(),
        }
    }

    pub fn msg(text: impl Into<String>) -> Self {
        Error::Msg(text.into())
    }

    pub fn os(step: impl Into<String>, source: impl Into<io::Error>) -> Self {
        Error::Os {
            step: step.into(),
            source: source.into(),
        }
    }

    /// The errno behind an OS error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// Prefix the message with an outer step, keeping the kind of error.
    pub fn wrap(self, outer: &str) -> Self {
        match self {
            Error::Os { step, source } => Error::Os {
                step: format!("{outer}: {step}"),
                source,
            },
            Error::Msg(m) => Error::Msg(format!("{outer}: {m}")),
            other => Error::Msg(format!("{outer}: {other}")),
        }
    }
}

/// Go-style OS error text ("no such file or directory"), which callers such as
/// Docker and podman match on to pick exit codes 126/127.
pub fn errno_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let desc = nix::errno::Errno::from_raw(code).desc();
            let mut chars = desc.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => format!("errno {code}"),
            }
        }
        None => err.to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { field, problem } if field.is_empty() || field == "." => {
                write!(f, "config.json: {problem}")
            }
            Error::Config { field, problem } => write!(f, "config.json: {field}: {problem}"),
            Error::Os { step, source } => write!(f, "{step}: {}", errno_text(source)),
            Error::NoSuchContainer => f.write_str("container does not exist"),
            Error::AlreadyExists => f.write_str("container with given ID already exists"),
            Error::InvalidId => f.write_str("invalid container ID format"),
            Error::NotRunning => f.write_str("container not running"),
            Error::Unsupported(what) => write!(f, "{what} is not supported yet"),
            Error::Msg(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// Attach the name of the step to a failing OS call.
pub trait Context<T> {
    fn ctx<S: Into<String>>(self, step: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<io::Error>> Context<T> for std::result::Result<T, E> {
    fn ctx<S: Into<String>>(self, step: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::os(step(), e))
    }
}
