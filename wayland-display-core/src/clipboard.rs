//! The clipboard as the lobby's owner sees it: read what a client copied, or hold a copy
//! for clients to paste (`WaylandDisplay::clipboard`, `WaylandDisplay::set_clipboard`).
//! The compositor offers the data as the selection's owner, as `wl-copy` would, so Wayland
//! and X11 clients paste it alike.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};

/// The most the clipboard carries either way: a screenshot of a 4K desktop as PNG, with room.
pub const MAX_CLIPBOARD_BYTES: usize = 32 << 20;
/// How long a client may take to hand over what it copied, or to take what it pastes.
pub const CLIPBOARD_TIMEOUT: Duration = Duration::from_secs(5);
/// The type text is offered and asked for as.
pub const TEXT: &str = "text/plain;charset=utf-8";
/// The types under which text is offered, and looked for in this order: what GTK, Qt,
/// Chromium and X11 clients ask for.
pub const TEXT_TYPES: &[&str] = &[TEXT, "text/plain", "UTF8_STRING", "TEXT", "STRING"];
/// Images are carried as PNG.
pub const PNG: &str = "image/png";
/// Pastes written at once from a clipboard we hold; more are refused rather than queued.
const MAX_WRITERS: usize = 16;

/// What the clipboard holds: one type and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClipboardContent {
    pub mime_type: String,
    pub data: Vec<u8>,
}

impl ClipboardContent {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            mime_type: TEXT.to_owned(),
            data: text.into().into_bytes(),
        }
    }

    /// Whether it is text under any of the text types.
    pub fn is_text(&self) -> bool {
        TEXT_TYPES.contains(&self.mime_type.as_str())
    }

    /// The types it is offered under: text under all text types, anything else as itself.
    pub(crate) fn offered_types(&self) -> Vec<String> {
        if self.is_text() {
            TEXT_TYPES.iter().map(|t| (*t).to_owned()).collect()
        } else {
            vec![self.mime_type.clone()]
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClipboardError {
    #[error("the clipboard is empty")]
    Empty,
    #[error("the clipboard holds none of {wanted:?}; it offers {offered:?}")]
    NoMatchingType {
        wanted: Vec<String>,
        offered: Vec<String>,
    },
    #[error("the clipboard's content is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the client holding the clipboard did not hand it over within {0:?}")]
    Timeout(Duration),
    #[error("the clipboard type {0:?} is not a MIME type")]
    BadType(String),
    #[error("reading the clipboard: {0}")]
    Io(String),
}

/// Which type of `offered` to read: the first of `wanted` that is offered, or when
/// nothing is asked for, text before PNG.
pub(crate) fn pick_type(offered: &[String], wanted: &[String]) -> Result<String, ClipboardError> {
    let default: Vec<String>;
    let wanted = if wanted.is_empty() {
        default = TEXT_TYPES
            .iter()
            .chain(&[PNG])
            .map(|t| (*t).to_owned())
            .collect();
        &default
    } else {
        wanted
    };
    // Asking for text means any of its types.
    let expanded = wanted.iter().flat_map(|w| {
        if TEXT_TYPES.contains(&w.as_str()) {
            TEXT_TYPES.iter().map(|t| (*t).to_owned()).collect()
        } else {
            vec![w.clone()]
        }
    });
    for want in expanded {
        if offered.contains(&want) {
            return Ok(want);
        }
    }
    Err(ClipboardError::NoMatchingType {
        wanted: wanted.to_vec(),
        offered: offered.to_vec(),
    })
}

/// A MIME type a client could have offered: `type/subtype` in printable ASCII, or one of
/// the X11 text targets.
pub fn valid_type(mime_type: &str) -> bool {
    let printable = |s: &str| {
        !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    };
    TEXT_TYPES.contains(&mime_type) || (printable(mime_type) && mime_type.contains('/'))
}

/// Reads a pipe to its end, at most [`MAX_CLIPBOARD_BYTES`] within [`CLIPBOARD_TIMEOUT`].
pub(crate) fn read_pipe(fd: OwnedFd) -> Result<Vec<u8>, ClipboardError> {
    let io = |err: std::io::Error| ClipboardError::Io(err.to_string());
    rustix::io::ioctl_fionbio(&fd, true).map_err(|e| io(e.into()))?;
    let deadline = Instant::now()
        .checked_add(CLIPBOARD_TIMEOUT)
        .ok_or(ClipboardError::Timeout(CLIPBOARD_TIMEOUT))?;
    let mut data = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match rustix::io::read(&fd, &mut chunk) {
            Ok(0) => return Ok(data),
            Ok(n) => {
                let end = chunk.get(..n).unwrap_or_default();
                if data.len().saturating_add(end.len()) > MAX_CLIPBOARD_BYTES {
                    return Err(ClipboardError::TooLarge {
                        limit: MAX_CLIPBOARD_BYTES,
                    });
                }
                data.extend_from_slice(end);
            }
            Err(rustix::io::Errno::AGAIN) => wait(&fd, PollFlags::IN, deadline)?,
            Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(io(err.into())),
        }
    }
}

/// Writes `data` into a pipe a client reads, without blocking the compositor: on a thread of
/// its own, bounded in time, and at most [`MAX_WRITERS`] at once.
pub(crate) fn write_pipe(fd: OwnedFd, data: Arc<ClipboardContent>) {
    static WRITERS: AtomicUsize = AtomicUsize::new(0);
    let taken = WRITERS.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
        (n < MAX_WRITERS).then(|| n.saturating_add(1))
    });
    if taken.is_err() {
        tracing::warn!("{MAX_WRITERS} pastes are being written; this one is refused");
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("wl-clipboard".to_owned())
        .spawn(move || {
            if let Err(err) = write_all(&fd, &data.data) {
                tracing::debug!(%err, "a paste was not taken whole");
            }
            WRITERS.fetch_sub(1, Ordering::AcqRel);
        });
    if let Err(err) = spawned {
        tracing::warn!(%err, "could not start writing a paste");
        WRITERS.fetch_sub(1, Ordering::AcqRel);
    }
}

fn write_all(fd: &OwnedFd, mut data: &[u8]) -> Result<(), ClipboardError> {
    let io = |err: rustix::io::Errno| ClipboardError::Io(std::io::Error::from(err).to_string());
    rustix::io::ioctl_fionbio(fd, true).map_err(io)?;
    let deadline = Instant::now()
        .checked_add(CLIPBOARD_TIMEOUT)
        .ok_or(ClipboardError::Timeout(CLIPBOARD_TIMEOUT))?;
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = data.get(n..).unwrap_or_default(),
            Err(rustix::io::Errno::AGAIN) => wait(fd, PollFlags::OUT, deadline)?,
            Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(io(err)),
        }
    }
    Ok(())
}

fn wait(fd: &OwnedFd, flags: PollFlags, deadline: Instant) -> Result<(), ClipboardError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ClipboardError::Timeout(CLIPBOARD_TIMEOUT));
    }
    let timeout = rustix::time::Timespec::try_from(left)
        .map_err(|_| ClipboardError::Timeout(CLIPBOARD_TIMEOUT))?;
    let mut fds = [PollFd::new(fd, flags)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(err) => Err(ClipboardError::Io(std::io::Error::from(err).to_string())),
    }
}

/// A pipe whose read end stays here and whose write end goes to a client.
pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd), ClipboardError> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|err| ClipboardError::Io(std::io::Error::from(err).to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn types(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn text_is_found_under_any_of_its_types_and_before_png() {
        let offered = types(&["image/png", "UTF8_STRING"]);
        assert_eq!(pick_type(&offered, &[]).unwrap(), "UTF8_STRING");
        assert_eq!(pick_type(&offered, &types(&[TEXT])).unwrap(), "UTF8_STRING");
        assert_eq!(pick_type(&offered, &types(&[PNG])).unwrap(), PNG);
        let err = pick_type(&types(&["text/html"]), &[]).unwrap_err();
        assert!(
            matches!(err, ClipboardError::NoMatchingType { .. }),
            "{err}"
        );
    }

    #[test]
    fn types_are_mime_types_or_x11_text_targets() {
        assert!(valid_type("image/png"));
        assert!(valid_type("UTF8_STRING"));
        assert!(!valid_type("png"));
        assert!(!valid_type("text/\u{1}plain"));
        assert!(!valid_type(""));
        assert!(!valid_type(&format!("a/{}", "b".repeat(300))));
    }

    #[test]
    fn a_pipe_round_trips_and_a_silent_writer_times_out() {
        let (read, write) = pipe().unwrap();
        let content = Arc::new(ClipboardContent::text("héllo"));
        write_pipe(write, content);
        assert_eq!(read_pipe(read).unwrap(), "héllo".as_bytes());

        // A writer that never writes nor closes: bounded by the timeout.
        let (read, _write) = pipe().unwrap();
        let started = Instant::now();
        assert_eq!(
            read_pipe(read).unwrap_err(),
            ClipboardError::Timeout(CLIPBOARD_TIMEOUT)
        );
        assert!(started.elapsed() >= CLIPBOARD_TIMEOUT);
    }

    #[test]
    fn more_than_the_limit_is_refused() {
        let (read, write) = pipe().unwrap();
        let big = Arc::new(ClipboardContent {
            mime_type: PNG.to_owned(),
            data: vec![7; MAX_CLIPBOARD_BYTES + 1],
        });
        write_pipe(write, big);
        assert_eq!(
            read_pipe(read).unwrap_err(),
            ClipboardError::TooLarge {
                limit: MAX_CLIPBOARD_BYTES
            }
        );
    }
}
