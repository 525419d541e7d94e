//! A blocking client of a PulseAudio-protocol server (libpulse through `libpulse-binding`):
//! one connection, a few introspection calls, each bounded in time. The host calls it on
//! blocking threads, the worker and `run` directly; nothing keeps a connection open
//! between calls, so a server that goes away costs the call in progress, never a thread.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use libpulse_binding as pulse;
use pulse::context::{Context, FlagSet, State};
use pulse::mainloop::standard::Mainloop;
use pulse::operation::{Operation, State as OperationState};
use pulse::proplist::Proplist;
use pulse::time::MicroSeconds;

use crate::time::Deadline;

/// How long connecting may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one request (load, unload, list) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest single wait in the main loop: deadlines are checked this often.
const POLL_SLICE: Duration = Duration::from_millis(50);
/// Sinks and modules read from one listing: a server with more is not one we can reason
/// about, and the lists stay bounded whatever a shared server holds.
const MAX_LISTED: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub(crate) enum PulseError {
    #[error("libpulse could not make its {0}")]
    Setup(&'static str),
    #[error("cannot connect to the sound server {server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("the sound server {server} did not answer within {after:?} ({what})")]
    Timeout {
        server: String,
        what: &'static str,
        after: Duration,
    },
    #[error("the sound server {server} refused to {what}: {reason}")]
    Refused {
        server: String,
        what: String,
        reason: String,
    },
    #[error("the connection to the sound server {server} broke: {reason}")]
    Lost { server: String, reason: String },
    #[error("the sound server {server} lists more than {MAX_LISTED} {what}")]
    TooMany { server: String, what: &'static str },
}

/// A sink as listed: its name, the module that owns it, and the owner properties we read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListedSink {
    pub(crate) name: String,
    pub(crate) owner_module: Option<u32>,
    /// `(key, value)` for each of the keys asked for that the sink has.
    pub(crate) properties: Vec<(String, String)>,
}

impl ListedSink {
    pub(crate) fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) struct PulseClient {
    // Dropped in this order: the context before the loop it runs on.
    context: Context,
    mainloop: Mainloop,
    server: String,
}

impl PulseClient {
    /// Connects to `server` (an address as `PULSE_SERVER` takes it), never starting one.
    pub(crate) fn connect(server: &str, timeout: Duration) -> Result<Self, PulseError> {
        let mainloop = Mainloop::new().ok_or(PulseError::Setup("main loop"))?;
        let mut proplist = Proplist::new().ok_or(PulseError::Setup("property list"))?;
        proplist
            .set_str(
                pulse::proplist::properties::APPLICATION_NAME,
                "gst-wayland-display",
            )
            .map_err(|()| PulseError::Setup("application name"))?;
        let mut context = Context::new_with_proplist(&mainloop, "gst-wayland-display", &proplist)
            .ok_or(PulseError::Setup("context"))?;
        context
            .connect(Some(server), FlagSet::NOAUTOSPAWN, None)
            .map_err(|err| PulseError::Connect {
                server: server.to_owned(),
                reason: describe(err),
            })?;
        let mut client = Self {
            context,
            mainloop,
            server: server.to_owned(),
        };
        let deadline = Deadline::after(timeout);
        loop {
            match client.context.get_state() {
                State::Ready => return Ok(client),
                State::Failed | State::Terminated => {
                    return Err(PulseError::Connect {
                        server: server.to_owned(),
                        reason: describe(client.context.errno()),
                    });
                }
                _ => {}
            }
            if deadline.passed() {
                return Err(PulseError::Timeout {
                    server: server.to_owned(),
                    what: "connecting",
                    after: timeout,
                });
            }
            client.turn(&deadline)?;
        }
    }

    /// One bounded turn of the main loop.
    fn turn(&mut self, deadline: &Deadline) -> Result<(), PulseError> {
        let slice = deadline.left().unwrap_or_default().min(POLL_SLICE);
        let micros = u64::try_from(slice.as_micros()).unwrap_or(u64::MAX);
        let broke = |err: pulse::error::PAErr| PulseError::Lost {
            server: self.server.clone(),
            reason: describe(err),
        };
        self.mainloop
            .prepare(Some(MicroSeconds(micros)))
            .map_err(broke)?;
        self.mainloop.poll().map_err(broke)?;
        self.mainloop.dispatch().map_err(broke)?;
        Ok(())
    }

    /// Runs the loop until `operation` is done, within the request timeout.
    fn finish<T: ?Sized>(
        &mut self,
        mut operation: Operation<T>,
        what: &'static str,
    ) -> Result<(), PulseError> {
        let deadline = Deadline::after(REQUEST_TIMEOUT);
        loop {
            match operation.get_state() {
                OperationState::Done => return Ok(()),
                OperationState::Cancelled => {
                    return Err(PulseError::Lost {
                        server: self.server.clone(),
                        reason: format!("{what} was cancelled ({})", self.context.errno()),
                    });
                }
                OperationState::Running => {}
            }
            if !matches!(self.context.get_state(), State::Ready) {
                return Err(PulseError::Lost {
                    server: self.server.clone(),
                    reason: describe(self.context.errno()),
                });
            }
            if deadline.passed() {
                operation.cancel();
                return Err(PulseError::Timeout {
                    server: self.server.clone(),
                    what,
                    after: REQUEST_TIMEOUT,
                });
            }
            self.turn(&deadline)?;
        }
    }

    /// Loads `module` with `argument`; answers its index.
    pub(crate) fn load_module(&mut self, module: &str, argument: &str) -> Result<u32, PulseError> {
        let index = Rc::new(RefCell::new(None));
        let answer = index.clone();
        let operation = self
            .context
            .introspect()
            .load_module(module, argument, move |i| {
                *answer.borrow_mut() = Some(i);
            });
        self.finish(operation, "loading a module")?;
        let loaded = *index.borrow();
        match loaded {
            // libpulse reports a refusal as PA_INVALID_INDEX.
            Some(i) if i != u32::MAX => Ok(i),
            _ => Err(PulseError::Refused {
                server: self.server.clone(),
                what: format!("load {module}"),
                reason: describe(self.context.errno()),
            }),
        }
    }

    /// Unloads the module `index`.
    pub(crate) fn unload_module(&mut self, index: u32) -> Result<(), PulseError> {
        let done = Rc::new(RefCell::new(false));
        let answer = done.clone();
        let operation = self
            .context
            .introspect()
            .unload_module(index, move |ok| *answer.borrow_mut() = ok);
        self.finish(operation, "unloading a module")?;
        if *done.borrow() {
            Ok(())
        } else {
            Err(PulseError::Refused {
                server: self.server.clone(),
                what: format!("unload module {index}"),
                reason: describe(self.context.errno()),
            })
        }
    }

    /// Suspends the sink `name`, or resumes it.
    pub(crate) fn suspend_sink(&mut self, name: &str, suspend: bool) -> Result<(), PulseError> {
        let done = Rc::new(RefCell::new(false));
        let answer = done.clone();
        let operation = self.context.introspect().suspend_sink_by_name(
            name,
            suspend,
            Some(Box::new(move |ok| *answer.borrow_mut() = ok)),
        );
        self.finish(operation, "suspending a sink")?;
        if *done.borrow() {
            Ok(())
        } else {
            Err(PulseError::Refused {
                server: self.server.clone(),
                what: format!("suspend or resume {name}"),
                reason: describe(self.context.errno()),
            })
        }
    }

    /// The sinks the server has, with the values of `keys` each one has.
    pub(crate) fn sinks(
        &mut self,
        keys: &'static [&'static str],
    ) -> Result<Vec<ListedSink>, PulseError> {
        let listed = Rc::new(RefCell::new(Listing::default()));
        let into = listed.clone();
        let operation = self.context.introspect().get_sink_info_list(move |item| {
            let mut listing = into.borrow_mut();
            match item {
                pulse::callbacks::ListResult::Item(sink) => {
                    if listing.items.len() >= MAX_LISTED {
                        listing.overflow = true;
                        return;
                    }
                    let properties = keys
                        .iter()
                        .filter_map(|key| {
                            sink.proplist.get_str(key).map(|v| ((*key).to_owned(), v))
                        })
                        .collect();
                    listing.items.push(ListedSink {
                        name: sink.name.as_deref().unwrap_or_default().to_owned(),
                        owner_module: sink.owner_module,
                        properties,
                    });
                }
                pulse::callbacks::ListResult::End => {}
                pulse::callbacks::ListResult::Error => listing.failed = true,
            }
        });
        self.finish(operation, "listing sinks")?;
        let listing = std::mem::take(&mut *listed.borrow_mut());
        self.checked(listing, "sinks")
    }

    fn checked<T>(&self, listing: Listing<T>, what: &'static str) -> Result<Vec<T>, PulseError> {
        if listing.failed {
            return Err(PulseError::Refused {
                server: self.server.clone(),
                what: format!("list its {what}"),
                reason: describe(self.context.errno()),
            });
        }
        if listing.overflow {
            return Err(PulseError::TooMany {
                server: self.server.clone(),
                what,
            });
        }
        Ok(listing.items)
    }
}

/// libpulse's words for an error code.
fn describe(err: pulse::error::PAErr) -> String {
    err.to_string()
        .unwrap_or_else(|| format!("error code {}", err.0))
}

struct Listing<T> {
    items: Vec<T>,
    overflow: bool,
    failed: bool,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            overflow: false,
            failed: false,
        }
    }
}

impl Drop for PulseClient {
    fn drop(&mut self) {
        self.context.disconnect();
    }
}
