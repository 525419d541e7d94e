//! The fds requests carry, made from their descriptions. Memfds are kept after sending, so
//! that a later step can shrink one under a pool the compositor has already mapped.

use std::collections::VecDeque;
use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::{MemfdFlags, Mode, OFlags, ftruncate, memfd_create, open};

use crate::wire::FdSpec;

/// How many memfds and pipe ends stay open per connection; older ones are closed.
const KEPT: usize = 32;

#[derive(Default)]
pub struct Fds {
    memfds: VecDeque<(u32, OwnedFd)>,
    /// The ends of pipes we did not send, open so the compositor's end stays connected.
    pipe_ends: VecDeque<OwnedFd>,
}

impl Fds {
    /// A new fd for `spec`; a memfd whose tag we still hold is sent again (a dup).
    pub fn make(&mut self, spec: &FdSpec) -> io::Result<OwnedFd> {
        Ok(match spec {
            FdSpec::Memfd { tag, size } => {
                if let Some((_, fd)) = self.memfds.iter().find(|(t, _)| t == tag) {
                    return fd.try_clone();
                }
                let fd = memfd_create("gwd-wire-fuzz", MemfdFlags::CLOEXEC)?;
                ftruncate(&fd, *size)?;
                let sent = fd.try_clone()?;
                if self.memfds.len() >= KEPT {
                    self.memfds.pop_front();
                }
                self.memfds.push_back((*tag, fd));
                sent
            }
            FdSpec::DevNull => open("/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())?,
            FdSpec::Dir => open("/", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?,
            FdSpec::PipeRead | FdSpec::PipeWrite => {
                let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
                let (sent, kept) = if *spec == FdSpec::PipeRead {
                    (read, write)
                } else {
                    (write, read)
                };
                if self.pipe_ends.len() >= KEPT {
                    self.pipe_ends.pop_front();
                }
                self.pipe_ends.push_back(kept);
                sent
            }
        })
    }

    /// Shrinks (or grows) a memfd we still hold; false if it is gone.
    pub fn truncate(&mut self, tag: u32, len: u64) -> io::Result<bool> {
        match self.memfds.iter().find(|(t, _)| *t == tag) {
            Some((_, fd)) => {
                ftruncate(fd, len)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The tags of the memfds still held, with their current sizes.
    pub fn memfds(&self) -> Vec<(u32, u64)> {
        self.memfds
            .iter()
            .filter_map(|(tag, fd)| Some((*tag, rustix::fs::fstat(fd).ok()?.st_size as u64)))
            .collect()
    }
}
