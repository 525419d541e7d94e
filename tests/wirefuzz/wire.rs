//! The Wayland wire format, written by hand so that nothing between the fuzzer and the
//! compositor's parser validates or repairs a message: requests (with the one-line text form
//! the logs and replay scripts use), events, and a connection that sends and receives them.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, recvmsg, sendmsg,
};
use wayland_client::backend::protocol::ArgumentType;

/// What the compositor's reader (wayland-backend) takes in one `recvmsg`; more bytes or fds
/// in one `sendmsg` could be cut off there, which would desynchronise the stream rather than
/// test the compositor.
pub const MAX_CHUNK_BYTES: usize = 4096;
pub const MAX_CHUNK_FDS: usize = 28;
/// The largest message we build, header included: the reader's buffer holds no more.
pub const MAX_MESSAGE: usize = 4096;

/// An fd argument, described rather than held, so that logs and replays can make it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdSpec {
    /// A memfd of `size` bytes; `tag` names it for a later `truncate`.
    Memfd {
        tag: u32,
        size: u64,
    },
    DevNull,
    PipeRead,
    PipeWrite,
    /// A directory: every mmap of it fails.
    Dir,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Int(i32),
    Uint(u32),
    /// Raw 24.8 fixed-point bits.
    Fixed(i32),
    /// The bytes before the terminating NUL, which the writer adds; `None` is the null string.
    Str(Option<Vec<u8>>),
    Object(u32),
    NewId(u32),
    Array(Vec<u8>),
    /// Sent as SCM_RIGHTS; takes no bytes in the message body.
    Fd(FdSpec),
}

/// One request as it goes on the wire; `label` (`interface.request`) is for people only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub object: u32,
    pub opcode: u16,
    pub label: String,
    pub args: Vec<Arg>,
}

fn pad4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

impl Arg {
    fn wire_len(&self) -> usize {
        match self {
            Self::Int(_) | Self::Uint(_) | Self::Fixed(_) | Self::Object(_) | Self::NewId(_) => 4,
            Self::Str(None) => 4,
            Self::Str(Some(s)) => 4 + pad4(s.len() + 1),
            Self::Array(a) => 4 + pad4(a.len()),
            Self::Fd(_) => 0,
        }
    }
}

impl Request {
    pub fn wire_len(&self) -> usize {
        8 + self.args.iter().map(Arg::wire_len).sum::<usize>()
    }

    pub fn fds(&self) -> impl Iterator<Item = &FdSpec> {
        self.args.iter().filter_map(|a| match a {
            Arg::Fd(spec) => Some(spec),
            _ => None,
        })
    }

    /// Appends the message to `out`; `None` if it does not fit the 16-bit size field.
    pub fn encode(&self, out: &mut Vec<u8>) -> Option<()> {
        let size = u16::try_from(self.wire_len()).ok()?;
        out.extend_from_slice(&self.object.to_ne_bytes());
        out.extend_from_slice(&((u32::from(size) << 16) | u32::from(self.opcode)).to_ne_bytes());
        for arg in &self.args {
            match arg {
                Arg::Int(v) | Arg::Fixed(v) => out.extend_from_slice(&v.to_ne_bytes()),
                Arg::Uint(v) | Arg::Object(v) | Arg::NewId(v) => {
                    out.extend_from_slice(&v.to_ne_bytes())
                }
                Arg::Str(None) => out.extend_from_slice(&0u32.to_ne_bytes()),
                Arg::Str(Some(s)) => {
                    let len = u32::try_from(s.len() + 1).ok()?;
                    out.extend_from_slice(&len.to_ne_bytes());
                    out.extend_from_slice(s);
                    out.resize(out.len() + pad4(s.len() + 1) - s.len(), 0);
                }
                Arg::Array(a) => {
                    let len = u32::try_from(a.len()).ok()?;
                    out.extend_from_slice(&len.to_ne_bytes());
                    out.extend_from_slice(a);
                    out.resize(out.len() + pad4(a.len()) - a.len(), 0);
                }
                Arg::Fd(_) => {}
            }
        }
        Some(())
    }
}

// ---- text form: `OBJECT.OPCODE LABEL ARG…`, one request per line ----

impl fmt::Display for FdSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memfd { tag, size } => write!(f, "memfd#{tag}:{size}"),
            Self::DevNull => f.write_str("null"),
            Self::PipeRead => f.write_str("pipe-r"),
            Self::PipeWrite => f.write_str("pipe-w"),
            Self::Dir => f.write_str("dir"),
        }
    }
}

fn write_bytes_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for &b in bytes {
        match b {
            b'"' => f.write_str("\\\"")?,
            b'\\' => f.write_str("\\\\")?,
            0x21..=0x7e => write!(f, "{}", b as char)?,
            _ => write!(f, "\\x{b:02x}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(v) => write!(f, "i{v}"),
            Self::Uint(v) => write!(f, "u{v}"),
            Self::Fixed(v) => write!(f, "f{v}"),
            Self::Str(None) => f.write_str("s-"),
            Self::Str(Some(s)) => {
                f.write_str("s\"")?;
                write_bytes_escaped(f, s)?;
                f.write_str("\"")
            }
            Self::Object(v) => write!(f, "o{v}"),
            Self::NewId(v) => write!(f, "n{v}"),
            Self::Array(a) => match a.first() {
                // Long runs of one byte (keymap-sized arrays) stay one short token.
                Some(&b) if a.len() > 8 && a.iter().all(|&x| x == b) => {
                    write!(f, "a*{}:{b:02x}", a.len())
                }
                _ => {
                    f.write_str("a")?;
                    a.iter().try_for_each(|b| write!(f, "{b:02x}"))
                }
            },
            Self::Fd(spec) => write!(f, "h{spec}"),
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} {}", self.object, self.opcode, self.label)?;
        for arg in &self.args {
            write!(f, " {arg}")?;
        }
        Ok(())
    }
}

/// Splits a line into tokens at spaces, keeping a quoted string (`s"…"`) whole.
fn tokens(line: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let end = if rest.starts_with("s\"") {
            let bytes = rest.as_bytes();
            let mut i = 2;
            loop {
                match bytes.get(i) {
                    None => return Err(format!("unterminated string in `{line}`")),
                    Some(b'\\') => i += 2,
                    Some(b'"') => break i + 1,
                    Some(_) => i += 1,
                }
            }
        } else {
            rest.find(' ').unwrap_or(rest.len())
        };
        let (token, tail) = rest.split_at(end);
        out.push(token);
        rest = tail.trim_start();
    }
    Ok(out)
}

fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut it = s.bytes();
    while let Some(b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next() {
            Some(b'x') => {
                let hex = [it.next(), it.next()];
                let [Some(h), Some(l)] = hex else {
                    return Err(format!("short \\x escape in {s:?}"));
                };
                let text = String::from_utf8_lossy(&[h, l]).into_owned();
                out.push(u8::from_str_radix(&text, 16).map_err(|e| format!("{text}: {e}"))?);
            }
            Some(c) => out.push(c),
            None => return Err(format!("trailing backslash in {s:?}")),
        }
    }
    Ok(out)
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd hex length: {s}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            let pair = s.get(i..i + 2).ok_or("bad hex")?;
            u8::from_str_radix(pair, 16).map_err(|e| format!("{pair}: {e}"))
        })
        .collect()
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: fmt::Display,
{
    s.parse().map_err(|e| format!("{s:?}: {e}"))
}

impl std::str::FromStr for FdSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "null" => Self::DevNull,
            "pipe-r" => Self::PipeRead,
            "pipe-w" => Self::PipeWrite,
            "dir" => Self::Dir,
            _ => {
                let rest = s
                    .strip_prefix("memfd#")
                    .ok_or(format!("unknown fd {s:?}"))?;
                let (tag, size) = rest.split_once(':').ok_or(format!("bad memfd {s:?}"))?;
                Self::Memfd {
                    tag: num(tag)?,
                    size: num(size)?,
                }
            }
        })
    }
}

impl std::str::FromStr for Arg {
    type Err = String;

    fn from_str(t: &str) -> Result<Self, String> {
        let Some(kind) = t.chars().next() else {
            return Err("empty argument".into());
        };
        let v = &t[kind.len_utf8()..];
        Ok(match kind {
            'i' => Self::Int(num(v)?),
            'u' => Self::Uint(num(v)?),
            'f' => Self::Fixed(num(v)?),
            'o' => Self::Object(num(v)?),
            'n' => Self::NewId(num(v)?),
            's' if v == "-" => Self::Str(None),
            's' => {
                let inner = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or(format!("bad string {t}"))?;
                Self::Str(Some(unescape(inner)?))
            }
            'a' => match v.strip_prefix('*') {
                Some(run) => {
                    let (len, byte) = run.split_once(':').ok_or(format!("bad array {t}"))?;
                    let byte = u8::from_str_radix(byte, 16).map_err(|e| format!("{t}: {e}"))?;
                    Self::Array(vec![byte; num(len)?])
                }
                None => Self::Array(parse_hex(v)?),
            },
            'h' => Self::Fd(v.parse()?),
            _ => return Err(format!("unknown argument {t:?}")),
        })
    }
}

impl std::str::FromStr for Request {
    type Err = String;

    fn from_str(line: &str) -> Result<Self, String> {
        let toks = tokens(line)?;
        let (head, rest) = toks.split_first().ok_or("empty request")?;
        let (object, opcode) = head
            .split_once('.')
            .ok_or(format!("`{head}` is not OBJECT.OPCODE"))?;
        let (label, args) = rest.split_first().ok_or(format!("no label in `{line}`"))?;
        Ok(Self {
            object: num(object)?,
            opcode: num(opcode)?,
            label: (*label).to_owned(),
            args: args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?,
        })
    }
}

// ---- events ----

/// One event as read: its sender, opcode and undecoded body.
pub struct RawEvent {
    pub object: u32,
    pub opcode: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventArg {
    Int(i32),
    Uint(u32),
    Fixed(i32),
    Str(Option<Vec<u8>>),
    Object(u32),
    NewId(u32),
    Array(Vec<u8>),
    Fd,
}

/// Decodes `body` by `signature`; `None` if it does not match (which the compositor's own
/// writer should never produce, so the caller just skips such an event).
pub fn decode(signature: &[ArgumentType], body: &[u8]) -> Option<Vec<EventArg>> {
    let mut at = 0usize;
    let word = |at: &mut usize| -> Option<u32> {
        let bytes = body.get(*at..*at + 4)?;
        *at += 4;
        Some(u32::from_ne_bytes(bytes.try_into().ok()?))
    };
    let mut out = Vec::with_capacity(signature.len());
    for ty in signature {
        out.push(match ty {
            ArgumentType::Int => EventArg::Int(word(&mut at)? as i32),
            ArgumentType::Uint => EventArg::Uint(word(&mut at)?),
            ArgumentType::Fixed => EventArg::Fixed(word(&mut at)? as i32),
            ArgumentType::Object(_) => EventArg::Object(word(&mut at)?),
            ArgumentType::NewId => EventArg::NewId(word(&mut at)?),
            ArgumentType::Fd => EventArg::Fd,
            ArgumentType::Str(_) | ArgumentType::Array => {
                let len = usize::try_from(word(&mut at)?).ok()?;
                let bytes = body.get(at..at.checked_add(len)?)?.to_vec();
                at += pad4(len);
                match ty {
                    ArgumentType::Array => EventArg::Array(bytes),
                    _ if len == 0 => EventArg::Str(None),
                    _ => EventArg::Str(Some(bytes[..len - 1].to_vec())),
                }
            }
        });
    }
    Some(out)
}

// ---- the connection ----

#[derive(Debug)]
pub enum ConnError {
    /// The compositor closed the connection (or reset it).
    Closed,
    /// Nothing could be sent before the deadline: the compositor stopped reading.
    Stalled,
    Io(io::Error),
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("connection closed by the compositor"),
            Self::Stalled => f.write_str("the compositor stopped reading"),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

fn conn_error(e: Errno) -> ConnError {
    match e {
        Errno::PIPE | Errno::CONNRESET | Errno::NOTCONN => ConnError::Closed,
        e => ConnError::Io(e.into()),
    }
}

/// A raw client connection. Requests are queued and sent in chunks the compositor's reader
/// takes whole, each fd with the chunk that starts its message.
pub struct Conn {
    stream: UnixStream,
    /// Encoded messages not yet (fully) sent, with the fds still to go with them.
    out: VecDeque<(Vec<u8>, Vec<OwnedFd>)>,
    /// How much of the front message went out already.
    sent_of_front: usize,
    queued_bytes: usize,
    inbuf: Vec<u8>,
}

impl Conn {
    pub fn connect(path: &Path) -> io::Result<Self> {
        let stream = UnixStream::connect(path)?;
        stream.set_nonblocking(true)?;
        Ok(Self {
            stream,
            out: VecDeque::new(),
            sent_of_front: 0,
            queued_bytes: 0,
            inbuf: Vec::new(),
        })
    }

    /// Queues `req` with the fds made for its `Fd` arguments (in order); `None` if it does
    /// not fit in a message.
    pub fn queue(&mut self, req: &Request, fds: Vec<OwnedFd>) -> Option<()> {
        let mut bytes = Vec::with_capacity(req.wire_len());
        req.encode(&mut bytes)?;
        self.queued_bytes += bytes.len();
        self.out.push_back((bytes, fds));
        Some(())
    }

    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Messages queued and not (fully) written to the socket.
    pub fn queued_messages(&self) -> usize {
        self.out.len()
    }

    /// Sends everything queued, waiting for the socket at most until `deadline`; events that
    /// arrive meanwhile are kept for [`read`](Self::read).
    pub fn flush(&mut self, deadline: Instant) -> Result<(), ConnError> {
        while !self.out.is_empty() {
            let mut bytes: Vec<u8> = Vec::new();
            let mut fds: Vec<BorrowedFd<'_>> = Vec::new();
            for (i, (msg, msg_fds)) in self.out.iter().enumerate() {
                let part = if i == 0 {
                    &msg[self.sent_of_front..]
                } else {
                    &msg[..]
                };
                if i > 0
                    && (bytes.len() + part.len() > MAX_CHUNK_BYTES
                        || fds.len() + msg_fds.len() > MAX_CHUNK_FDS)
                {
                    break;
                }
                bytes.extend_from_slice(part);
                fds.extend(msg_fds.iter().map(|f| f.as_fd()));
            }
            let mut sent = send_chunk(&self.stream, &bytes, &fds, deadline, &mut self.inbuf)?;
            self.queued_bytes -= sent;
            // Whatever part of a message went out took its fds along.
            while let Some((msg, msg_fds)) = self.out.front_mut() {
                msg_fds.clear();
                let left = msg.len() - self.sent_of_front;
                if sent < left {
                    self.sent_of_front += sent;
                    break;
                }
                sent -= left;
                self.sent_of_front = 0;
                self.out.pop_front();
                if sent == 0 {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The events received so far, waiting up to `wait` for the first one. Events already
    /// complete are returned even when the connection has closed behind them; the close is
    /// reported on the next call.
    pub fn read(&mut self, wait: Duration) -> Result<Vec<RawEvent>, ConnError> {
        let deadline = Instant::now() + wait;
        loop {
            let closed = fill(&self.stream, &mut self.inbuf).err();
            let events = self.take_events();
            if !events.is_empty() {
                return Ok(events);
            }
            if let Some(e) = closed {
                return Err(e);
            }
            if Instant::now() >= deadline {
                return Ok(events);
            }
            match wait_for(&self.stream, PollFlags::IN, deadline) {
                Ok(()) | Err(ConnError::Stalled) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn take_events(&mut self) -> Vec<RawEvent> {
        let mut events = Vec::new();
        let mut at = 0;
        while let Some(head) = self.inbuf.get(at..at + 8) {
            let object = u32::from_ne_bytes([head[0], head[1], head[2], head[3]]);
            let word = u32::from_ne_bytes([head[4], head[5], head[6], head[7]]);
            let size = (word >> 16) as usize;
            if size < 8 {
                // A broken header from the compositor: the rest cannot be framed.
                at = self.inbuf.len();
                break;
            }
            let Some(body) = self.inbuf.get(at + 8..at + size) else {
                break;
            };
            events.push(RawEvent {
                object,
                opcode: (word & 0xffff) as u16,
                body: body.to_vec(),
            });
            at += size;
        }
        self.inbuf.drain(..at);
        events
    }
}

fn send_chunk(
    stream: &UnixStream,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
    deadline: Instant,
    inbuf: &mut Vec<u8>,
) -> Result<usize, ConnError> {
    loop {
        let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
        let mut cmsg = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() && !cmsg.push(SendAncillaryMessage::ScmRights(fds)) {
            return Err(ConnError::Io(io::Error::other("cmsg buffer too small")));
        }
        match sendmsg(
            stream,
            &[io::IoSlice::new(bytes)],
            &mut cmsg,
            SendFlags::NOSIGNAL,
        ) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                // The compositor is behind: wait for room, reading what it says meanwhile
                // so that neither side waits on the other.
                match wait_for(stream, PollFlags::OUT | PollFlags::IN, deadline) {
                    Ok(()) => {}
                    Err(e) => return Err(e),
                }
                fill(stream, inbuf)?;
            }
            Err(e) => return Err(conn_error(e)),
        }
    }
}

/// Waits (at most 100 ms per call, never past `deadline`) for the socket to be ready for
/// `flags`; `Stalled` once the deadline has passed.
fn wait_for(stream: &UnixStream, flags: PollFlags, deadline: Instant) -> Result<(), ConnError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ConnError::Stalled);
    }
    let timeout = Timespec::try_from(left.min(Duration::from_millis(100)))
        .map_err(|e| ConnError::Io(io::Error::other(e)))?;
    let mut fds = [PollFd::new(stream, flags)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) | Err(Errno::INTR) => Ok(()),
        Err(e) => Err(conn_error(e)),
    }
}

/// Reads whatever the socket holds now into `inbuf`. Received fds are closed at once:
/// nothing the fuzzer does needs the compositor's keymaps or format tables.
fn fill(stream: &UnixStream, inbuf: &mut Vec<u8>) -> Result<(), ConnError> {
    let mut buf = [0u8; 16384];
    loop {
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_CHUNK_FDS))];
        let mut cmsg = RecvAncillaryBuffer::new(&mut space);
        let mut iov = [io::IoSliceMut::new(&mut buf)];
        let flags = RecvFlags::DONTWAIT | RecvFlags::CMSG_CLOEXEC;
        match recvmsg(stream, &mut iov, &mut cmsg, flags) {
            Ok(msg) if msg.bytes == 0 => return Err(ConnError::Closed),
            Ok(msg) => {
                for msg in cmsg.drain() {
                    if let RecvAncillaryMessage::ScmRights(fds) = msg {
                        fds.for_each(drop);
                    }
                }
                inbuf.extend_from_slice(&buf[..msg.bytes]);
            }
            Err(Errno::AGAIN) => return Ok(()),
            Err(Errno::INTR) => {}
            Err(e) => return Err(conn_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_encode_with_padding_and_size() {
        let req = Request {
            object: 3,
            opcode: 1,
            label: "x.y".into(),
            args: vec![
                Arg::Str(Some(b"abc".to_vec())),
                Arg::Array(vec![1, 2, 3, 4, 5]),
                Arg::Fd(FdSpec::DevNull),
                Arg::Int(-1),
            ],
        };
        let mut out = Vec::new();
        req.encode(&mut out).unwrap();
        assert_eq!(out.len(), 8 + 8 + 12 + 4);
        assert_eq!(
            u32::from_ne_bytes(out[4..8].try_into().unwrap()),
            (32 << 16) | 1
        );
        assert_eq!(&out[8..16], &[4, 0, 0, 0, b'a', b'b', b'c', 0]);
    }

    #[test]
    fn the_text_form_round_trips() {
        let req = Request {
            object: 12,
            opcode: 7,
            label: "wl_shm.create_pool".into(),
            args: vec![
                Arg::NewId(13),
                Arg::Fd(FdSpec::Memfd { tag: 4, size: 4096 }),
                Arg::Int(i32::MIN),
                Arg::Uint(u32::MAX),
                Arg::Fixed(-256),
                Arg::Str(Some(b"a \"b\"\\ \xff\x00".to_vec())),
                Arg::Str(None),
                Arg::Str(Some(Vec::new())),
                Arg::Object(0),
                Arg::Array(vec![0xab; 100]),
                Arg::Array(vec![1, 2]),
                Arg::Array(Vec::new()),
                Arg::Fd(FdSpec::PipeWrite),
            ],
        };
        let text = req.to_string();
        assert_eq!(text.parse::<Request>().unwrap(), req, "{text}");
    }

    #[test]
    fn events_decode_by_signature() {
        use wayland_client::backend::protocol::AllowNull;
        let mut body = Vec::new();
        body.extend_from_slice(&7u32.to_ne_bytes());
        body.extend_from_slice(&7u32.to_ne_bytes());
        body.extend_from_slice(b"wl_shm\0\0");
        body.extend_from_slice(&2u32.to_ne_bytes());
        let sig = [
            ArgumentType::Uint,
            ArgumentType::Str(AllowNull::No),
            ArgumentType::Uint,
        ];
        assert_eq!(
            decode(&sig, &body).unwrap(),
            vec![
                EventArg::Uint(7),
                EventArg::Str(Some(b"wl_shm".to_vec())),
                EventArg::Uint(2)
            ]
        );
        assert!(decode(&sig, &body[..10]).is_none());
    }
}
