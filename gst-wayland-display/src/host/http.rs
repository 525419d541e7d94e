//! The API's HTTP/1.1 server, built to outlast its network: every connection has a
//! deadline for its request headers (idle keep-alive connections included), every body a
//! deadline of its own, and each listener a cap on open connections. At the cap the
//! oldest connection that has not sent a request yet makes room, so idle and slowloris
//! peers cannot lock out a health probe or a control plane; only when every connection is
//! busy are new ones closed. Running out of file descriptors pauses accepting instead of
//! spinning.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// Headers larger than this are refused (hyper's minimum is 8 KiB); no request of this
/// API needs more, and it bounds what an open connection can make the host buffer.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// How long a shutdown waits for requests in flight.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);
/// Accepting pauses this long, then doubles up to [`PAUSE_MAX`], while file descriptors
/// have run out.
const PAUSE_MIN: Duration = Duration::from_millis(50);
const PAUSE_MAX: Duration = Duration::from_secs(1);

/// A listener's limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HttpLimits {
    /// Time a connection gets to send a request's headers, from when it opens or its
    /// previous response went out.
    pub(crate) header_timeout: Duration,
    /// Time a request body gets to arrive once its headers have.
    pub(crate) body_timeout: Duration,
    /// Connections open at once on this listener.
    pub(crate) max_connections: usize,
}

/// The body deadline of the listener a request came in on, for the body extractor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyTimeout(pub(crate) Duration);

/// What the server counts, for `/metrics`; shared by the listeners.
#[derive(Default)]
pub(crate) struct HttpCounters {
    /// Connections closed to make room at the cap before they sent a request.
    pub(crate) evicted: Counter,
    /// Connections closed on arrival because every open one was busy.
    pub(crate) refused: Counter,
    /// Accepts that failed for lack of file descriptors.
    pub(crate) fd_exhausted: Counter,
}

/// A socket the server accepts on.
pub(crate) trait Accept: Send + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept(&self) -> impl Future<Output = io::Result<Self::Io>> + Send;
}

impl Accept for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;
    async fn accept(&self) -> io::Result<Self::Io> {
        let (stream, _) = tokio::net::TcpListener::accept(self).await?;
        // Replies are small and whole; Nagle would only delay them.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

impl Accept for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;
    async fn accept(&self) -> io::Result<Self::Io> {
        tokio::net::UnixListener::accept(self)
            .await
            .map(|(stream, _)| stream)
    }
}

/// One open connection, as the table sees it.
struct Slot {
    /// Set once the connection has sent a whole request head; until then it is idle and
    /// the first to go at the cap.
    used: AtomicBool,
    evict: Notify,
}

#[derive(Default)]
struct Table {
    next: u64,
    /// By id, so by age: the first fresh entry is the oldest idle connection.
    open: BTreeMap<u64, Arc<Slot>>,
    /// Whether the listener is at the cap with nothing to evict (logged once per episode).
    full: bool,
}

/// The open connections of one listener.
struct Connections {
    listener: &'static str,
    max: usize,
    table: Mutex<Table>,
    counters: Arc<HttpCounters>,
}

/// A connection's place in the table; leaving it frees the place.
struct Ticket {
    id: u64,
    slot: Arc<Slot>,
    connections: Arc<Connections>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.connections.lock().open.remove(&self.id);
    }
}

impl Connections {
    fn lock(&self) -> MutexGuard<'_, Table> {
        // The table stays consistent whatever a panicking holder did: inserts and removes
        // are single map operations.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A place for a new connection, making room by evicting the oldest idle one at the
    /// cap; `None` when every open connection is busy.
    fn admit(self: &Arc<Self>) -> Option<Ticket> {
        let mut table = self.lock();
        if table.open.len() >= self.max {
            let oldest_idle = table
                .open
                .iter()
                .find(|(_, slot)| !slot.used.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            match oldest_idle.and_then(|id| table.open.remove(&id)) {
                Some(slot) => {
                    slot.evict.notify_one();
                    self.counters.evicted.inc();
                }
                None => {
                    self.counters.refused.inc();
                    if !table.full {
                        table.full = true;
                        tracing::warn!(
                            listener = self.listener,
                            max = self.max,
                            "every API connection is busy; closing new ones until one ends \
                             (--max-connections)"
                        );
                    }
                    return None;
                }
            }
        } else if table.full {
            table.full = false;
            tracing::info!(listener = self.listener, "accepting API connections again");
        }
        let id = table.next;
        table.next = table.next.wrapping_add(1);
        let slot = Arc::new(Slot {
            used: AtomicBool::new(false),
            evict: Notify::new(),
        });
        table.open.insert(id, slot.clone());
        Some(Ticket {
            id,
            slot,
            connections: self.clone(),
        })
    }
}

/// Whether an accept failed for lack of file descriptors or kernel memory: conditions
/// that last, where retrying at once would spin.
fn resource_exhausted(err: &io::Error) -> bool {
    let Some(code) = err.raw_os_error() else {
        return false;
    };
    [
        rustix::io::Errno::MFILE,
        rustix::io::Errno::NFILE,
        rustix::io::Errno::NOBUFS,
        rustix::io::Errno::NOMEM,
    ]
    .iter()
    .any(|errno| errno.raw_os_error() == code)
}

/// Serves `router` on `listener` until `stop` turns true, then lets requests in flight
/// finish (bounded by [`SHUTDOWN_WAIT`]).
pub(crate) async fn serve<L: Accept>(
    listener_name: &'static str,
    listener: L,
    router: Router,
    limits: HttpLimits,
    counters: Arc<HttpCounters>,
    mut stop: watch::Receiver<bool>,
) {
    let connections = Arc::new(Connections {
        listener: listener_name,
        max: limits.max_connections.max(1),
        table: Mutex::default(),
        counters: counters.clone(),
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEADER_BYTES);
    let (closing, closing_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut pause = PAUSE_MIN;
    let mut exhausted = false;
    while !*stop.borrow() {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => accepted,
        };
        while tasks.try_join_next().is_some() {}
        let io = match accepted {
            Ok(io) => {
                if exhausted {
                    exhausted = false;
                    pause = PAUSE_MIN;
                    tracing::info!(
                        listener = listener_name,
                        "file descriptors are available again; accepting"
                    );
                }
                io
            }
            Err(err) if resource_exhausted(&err) => {
                counters.fd_exhausted.inc();
                if !exhausted {
                    exhausted = true;
                    tracing::warn!(
                        listener = listener_name,
                        %err,
                        "cannot accept API connections; pausing until resources free up"
                    );
                }
                tokio::select! {
                    _ = stop.changed() => break,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = pause.saturating_mul(2).min(PAUSE_MAX);
                continue;
            }
            Err(err) => {
                // A peer that reset before we accepted it, and the like: that peer's loss.
                tracing::debug!(listener = listener_name, %err, "accept failed");
                continue;
            }
        };
        let Some(ticket) = connections.admit() else {
            continue;
        };
        let connection = http.serve_connection(
            TokioIo::new(io),
            service(router.clone(), ticket.slot.clone(), limits.body_timeout),
        );
        tasks.spawn(drive(connection, ticket, closing_rx.clone()));
    }
    let _ = closing.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_WAIT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            listener = listener_name,
            left = tasks.len(),
            "API connections still open at shutdown were closed"
        );
    }
    tasks.abort_all();
}

/// The router as hyper's service, marking the connection used and telling the body
/// extractor its deadline.
fn service(
    router: Router,
    slot: Arc<Slot>,
    body_timeout: Duration,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Send
+ 'static {
    let inner = TowerToHyperService::new(router);
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        slot.used.store(true, Ordering::Relaxed);
        request.extensions_mut().insert(BodyTimeout(body_timeout));
        hyper::service::Service::call(&inner, request)
    })
}

/// Runs one connection until it ends, is evicted (it has sent nothing, so nothing is
/// cut short) or the server shuts down (requests in flight finish).
async fn drive<I, S>(
    connection: hyper::server::conn::http1::Connection<I, S>,
    ticket: Ticket,
    mut closing: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: hyper::service::HttpService<Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(listener = ticket.connections.listener, %err, "API connection ended");
            }
            return;
        }
        () = ticket.slot.evict.notified() => return,
        _ = closing.changed() => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connections(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            listener: "test",
            max,
            table: Mutex::default(),
            counters: Arc::default(),
        })
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room_and_busy_ones_stay() {
        let table = connections(3);
        let a = table.admit().unwrap();
        let b = table.admit().unwrap();
        let c = table.admit().unwrap();
        b.slot.used.store(true, Ordering::Relaxed);
        // `a` is the oldest idle one: it is told to go and no longer counts.
        let d = table.admit().unwrap();
        assert_eq!(table.counters.evicted.get(), 1);
        assert!(!table.lock().open.contains_key(&a.id));
        // Then `c`, the next idle one; `b` is busy and is never evicted.
        let e = table.admit().unwrap();
        assert!(!table.lock().open.contains_key(&c.id));
        for t in [&d, &e] {
            t.slot.used.store(true, Ordering::Relaxed);
        }
        assert!(table.admit().is_none(), "all busy: refused");
        assert_eq!(table.counters.refused.get(), 1);
        // A connection that ends frees its place.
        drop(e);
        assert!(table.admit().is_some());
        drop((a, b, c, d));
    }

    #[test]
    fn accept_errors_that_last_are_told_apart_from_a_peer_going_away() {
        for code in [
            libc_code(rustix::io::Errno::MFILE),
            libc_code(rustix::io::Errno::NFILE),
        ] {
            assert!(resource_exhausted(&io::Error::from_raw_os_error(code)));
        }
        let aborted = io::Error::from_raw_os_error(libc_code(rustix::io::Errno::CONNABORTED));
        assert!(!resource_exhausted(&aborted));
        assert!(!resource_exhausted(&io::Error::other("no os code")));
    }

    fn libc_code(errno: rustix::io::Errno) -> i32 {
        errno.raw_os_error()
    }
}
