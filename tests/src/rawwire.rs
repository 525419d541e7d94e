//! A raw Wayland connection for hostile-client tests: requests written byte for byte (with
//! file descriptors attached where asked), events read back without a client library's
//! checks, every read bounded by a timeout.

use std::io::{ErrorKind, IoSlice, Read};
use std::mem::MaybeUninit;
use std::os::fd::BorrowedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, sendmsg};

/// `wl_display`, object 1 of every connection.
pub const DISPLAY: u32 = 1;

/// One event as it came off the wire.
#[derive(Clone, Debug)]
pub struct Event {
    pub object: u32,
    pub opcode: u16,
    /// The arguments, without the 8-byte header.
    pub body: Vec<u8>,
}

impl Event {
    /// The `index`th 32-bit word of the arguments.
    pub fn word(&self, index: usize) -> Option<u32> {
        let at = index.checked_mul(4)?;
        let bytes = self.body.get(at..at.checked_add(4)?)?;
        Some(u32::from_ne_bytes(bytes.try_into().ok()?))
    }

    /// The string argument starting at word `index`, and the index of the word after it.
    pub fn string(&self, index: usize) -> Option<(String, usize)> {
        let len = usize::try_from(self.word(index)?).ok()?;
        let start = index.checked_add(1)?.checked_mul(4)?;
        let bytes = self.body.get(start..start.checked_add(len)?)?;
        let text = String::from_utf8_lossy(bytes.strip_suffix(&[0]).unwrap_or(bytes)).into_owned();
        let words = len.div_ceil(4);
        Some((text, index.checked_add(1)?.checked_add(words)?))
    }
}

/// A `wl_display.error` as the client received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    pub object: u32,
    pub code: u32,
    pub message: String,
}

/// How a wait for the server's verdict ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `wl_display.error` arrived (the server closes the connection after it).
    Error(ProtocolError),
    /// The server closed the connection without an error.
    Closed,
    /// Neither within the timeout: the server kept the connection open.
    StillOpen,
}

/// The 32-bit words of a request: header, then `args`.
pub fn request(object: u32, opcode: u16, args: &[u32]) -> Vec<u8> {
    let len = u32::try_from(args.len() * 4 + 8).unwrap();
    let mut bytes = Vec::with_capacity(args.len() * 4 + 8);
    bytes.extend_from_slice(&object.to_ne_bytes());
    bytes.extend_from_slice(&((len << 16) | u32::from(opcode)).to_ne_bytes());
    for arg in args {
        bytes.extend_from_slice(&arg.to_ne_bytes());
    }
    bytes
}

/// A string argument as words: its length with the NUL, then the bytes padded to 4.
pub fn string_words(text: &str) -> Vec<u32> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0);
    let mut words = vec![u32::try_from(bytes.len()).unwrap()];
    bytes.resize(bytes.len().next_multiple_of(4), 0);
    words.extend(
        bytes
            .chunks(4)
            .map(|c| u32::from_ne_bytes(c.try_into().unwrap())),
    );
    words
}

pub struct RawClient {
    pub stream: UnixStream,
    /// Bytes read but not yet returned as events.
    pending: Vec<u8>,
    closed: bool,
}

impl RawClient {
    pub fn connect(dir: &Path, socket: &str) -> Self {
        Self::from_stream(UnixStream::connect(dir.join(socket)).unwrap())
    }

    pub fn from_stream(stream: UnixStream) -> Self {
        Self {
            stream,
            pending: Vec::new(),
            closed: false,
        }
    }

    /// Writes `bytes` in one `sendmsg`, with `fds` attached as SCM_RIGHTS.
    pub fn send(&self, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
        let iov = [IoSlice::new(bytes)];
        let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
        let mut cmsg = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() {
            assert!(cmsg.push(SendAncillaryMessage::ScmRights(fds)));
        }
        let sent = sendmsg(&self.stream, &iov, &mut cmsg, SendFlags::NOSIGNAL)?;
        assert_eq!(sent, bytes.len(), "short write");
        Ok(())
    }

    pub fn sync(&self, callback: u32) -> std::io::Result<()> {
        self.send(&request(DISPLAY, 0, &[callback]), &[])
    }

    pub fn get_registry(&self, registry: u32) -> std::io::Result<()> {
        self.send(&request(DISPLAY, 1, &[registry]), &[])
    }

    /// The next event, waiting at most until `deadline`; `None` on timeout or when closed.
    pub fn next_event(&mut self, deadline: Instant) -> Option<Event> {
        loop {
            if self.pending.len() >= 8 {
                let word =
                    |i: usize| u32::from_ne_bytes(self.pending[i..i + 4].try_into().unwrap());
                let (object, header) = (word(0), word(4));
                let len = usize::try_from(header >> 16).unwrap();
                assert!(len >= 8, "the server sent a message of {len} bytes");
                if self.pending.len() >= len {
                    let body = self.pending[8..len].to_vec();
                    self.pending.drain(..len);
                    return Some(Event {
                        object,
                        opcode: u16::try_from(header & 0xffff).unwrap(),
                        body,
                    });
                }
            }
            if self.closed {
                return None;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // A reset is a close without an error as far as the client can tell.
                Err(_) => self.closed = true,
            }
        }
    }

    /// Reads events until the server posts an error or closes, at most `timeout`.
    pub fn ending(&mut self, timeout: Duration) -> Ending {
        let deadline = Instant::now() + timeout;
        while let Some(event) = self.next_event(deadline) {
            if event.object == DISPLAY && event.opcode == 0 {
                let (message, _) = event.string(2).unwrap_or_default();
                return Ending::Error(ProtocolError {
                    object: event.word(0).unwrap_or_default(),
                    code: event.word(1).unwrap_or_default(),
                    message,
                });
            }
        }
        if self.closed {
            Ending::Closed
        } else {
            Ending::StillOpen
        }
    }

    /// Sends `wl_display.sync` with `callback` and waits for its `done`; false if the
    /// server did not answer within `timeout` or closed the connection.
    pub fn roundtrip(&mut self, callback: u32, timeout: Duration) -> bool {
        if self.sync(callback).is_err() {
            return false;
        }
        let deadline = Instant::now() + timeout;
        while let Some(event) = self.next_event(deadline) {
            if event.object == callback && event.opcode == 0 {
                return true;
            }
        }
        false
    }

    /// `wl_display.get_registry` as `registry`, then a roundtrip with `callback`: the
    /// globals as (name, interface, version).
    pub fn globals(
        &mut self,
        registry: u32,
        callback: u32,
        timeout: Duration,
    ) -> Vec<(u32, String, u32)> {
        self.get_registry(registry).unwrap();
        self.sync(callback).unwrap();
        let deadline = Instant::now() + timeout;
        let mut globals = Vec::new();
        while let Some(event) = self.next_event(deadline) {
            if event.object == registry && event.opcode == 0 {
                let name = event.word(0).unwrap();
                let (interface, next) = event.string(1).unwrap();
                globals.push((name, interface, event.word(next).unwrap()));
            } else if event.object == callback && event.opcode == 0 {
                return globals;
            }
        }
        panic!("no registry roundtrip within {timeout:?}");
    }
}
