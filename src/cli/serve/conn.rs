//! Connections: accepting them, their limits and timeouts, and making room
//! when there are too many or the descriptors run out.
//!
//! Every connection is a task on one thread's runtime, so a client that is
//! slow to send or to read holds only its own connection. Each has a 16 KiB
//! cap on its request head (431), 10 s for the head to arrive, 10 s of
//! silence at most while idle or reading, and 10 s at most of a stalled
//! write. At most [`MAX_CONNECTIONS`] are kept: a new one, or an accept that
//! fails for want of descriptors, closes the connection idle the longest.

use crate::cli::out::errln;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::{Sleep, sleep};

use super::http::{self, Ctx};

/// Connections kept open at once.
pub const MAX_CONNECTIONS: usize = 256;
/// The largest request head (request line and headers) read: over it, 431.
pub const MAX_HEAD: usize = 16 * 1024;
/// How long a request head may take, a read or a write may stall, and an
/// idle connection may stay.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Accepts connections for ever, each served by its own task.
pub async fn serve(listener: TcpListener, ctx: Arc<Ctx>) {
    let open = Arc::new(Registry::default());
    let mut log = Log::default();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if open.len() >= MAX_CONNECTIONS {
                    open.evict();
                    log.say(format_args!(
                        "{MAX_CONNECTIONS} connections open: closing the one idle longest"
                    ));
                }
                let entry = open.add();
                tokio::spawn(connection(stream, ctx.clone(), entry));
            }
            Err(e) => {
                // out of descriptors: free one and wait a little for it
                let evicted = out_of_descriptors(&e) && open.evict();
                let then = if evicted {
                    "closing the connection idle longest"
                } else {
                    "trying again"
                };
                log.say(format_args!("cannot accept a connection ({e}); {then}"));
                sleep(Duration::from_millis(if evicted { 10 } else { 100 })).await;
            }
        }
    }
}

fn out_of_descriptors(e: &io::Error) -> bool {
    // EMFILE and ENFILE on Linux and the BSDs, WSAEMFILE on Windows
    matches!(e.raw_os_error(), Some(23 | 24 | 10024))
}

/// Serves one connection until it ends, fails, times out or is evicted.
async fn connection(stream: TcpStream, ctx: Arc<Ctx>, entry: Entry) {
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(Patient::new(stream));
    let kill = entry.kill.clone();
    let entry = Arc::new(entry);
    let service = service_fn(move |req| {
        let (ctx, entry) = (ctx.clone(), entry.clone());
        async move {
            let _busy = entry.busy();
            Ok::<_, Infallible>(http::handle(&ctx, local, req).await)
        }
    });
    let mut conn = pin!(
        http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(PATIENCE)
            .max_buf_size(MAX_HEAD)
            .serve_connection(io, service)
    );
    let mut killed = pin!(kill.notified());
    // ends when the connection does, or when it is evicted (dropping it closes it)
    poll_fn(|cx| {
        if killed.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        conn.as_mut().poll(cx).map(|_| ())
    })
    .await;
}

/// A connection's place in the [`Registry`].
struct Slot {
    /// Since when it has had no request in hand (None: it has one).
    idle_since: Option<Instant>,
    opened: Instant,
    kill: Arc<Notify>,
}

/// The open connections.
#[derive(Default)]
struct Registry {
    slots: Mutex<HashMap<u64, Slot>>,
    next: AtomicU64,
}

impl Registry {
    fn slots(&self) -> MutexGuard<'_, HashMap<u64, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn len(&self) -> usize {
        self.slots().len()
    }

    fn add(self: &Arc<Self>) -> Entry {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let kill = Arc::new(Notify::new());
        let now = Instant::now();
        let slot = Slot {
            idle_since: Some(now),
            opened: now,
            kill: kill.clone(),
        };
        self.slots().insert(id, slot);
        Entry {
            registry: self.clone(),
            id,
            kill,
        }
    }

    /// Closes the connection idle longest, or if none is idle the oldest;
    /// false if there is none.
    fn evict(&self) -> bool {
        let mut slots = self.slots();
        let victim = slots
            .iter()
            .min_by_key(|(_, s)| match s.idle_since {
                Some(t) => (false, t),
                None => (true, s.opened),
            })
            .map(|(&id, _)| id);
        match victim.and_then(|id| slots.remove(&id)) {
            Some(slot) => {
                slot.kill.notify_one();
                true
            }
            None => false,
        }
    }

    fn set_idle(&self, id: u64, idle: bool) {
        if let Some(s) = self.slots().get_mut(&id) {
            s.idle_since = idle.then(Instant::now);
        }
    }
}

/// A connection's registration, removed when the connection ends.
struct Entry {
    registry: Arc<Registry>,
    id: u64,
    kill: Arc<Notify>,
}

impl Entry {
    /// Marks the connection busy until the guard is dropped.
    fn busy(&self) -> Busy<'_> {
        self.registry.set_idle(self.id, false);
        Busy(self)
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.registry.slots().remove(&self.id);
    }
}

struct Busy<'a>(&'a Entry);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.registry.set_idle(self.0.id, true);
    }
}

/// A stream whose reads and writes fail with `TimedOut` after waiting
/// [`PATIENCE`] without progress.
struct Patient {
    io: TcpStream,
    read_by: Option<Pin<Box<Sleep>>>,
    write_by: Option<Pin<Box<Sleep>>>,
}

impl Patient {
    fn new(io: TcpStream) -> Patient {
        Patient {
            io,
            read_by: None,
            write_by: None,
        }
    }
}

/// After an operation: its result if it made progress (the deadline goes),
/// else a timeout once the deadline, set at the first wait, has passed.
fn patiently<T>(
    done: Poll<io::Result<T>>,
    deadline: &mut Option<Pin<Box<Sleep>>>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    if done.is_ready() {
        *deadline = None;
        return done;
    }
    let by = deadline.get_or_insert_with(|| Box::pin(sleep(PATIENCE)));
    ready!(by.as_mut().poll(cx));
    Poll::Ready(Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "the client went silent",
    )))
}

impl AsyncRead for Patient {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let done = Pin::new(&mut me.io).poll_read(cx, buf);
        patiently(done, &mut me.read_by, cx)
    }
}

impl AsyncWrite for Patient {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let done = Pin::new(&mut me.io).poll_write(cx, buf);
        patiently(done, &mut me.write_by, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let done = Pin::new(&mut me.io).poll_write_vectored(cx, bufs);
        patiently(done, &mut me.write_by, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let done = Pin::new(&mut me.io).poll_flush(cx);
        patiently(done, &mut me.write_by, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let done = Pin::new(&mut me.io).poll_shutdown(cx);
        patiently(done, &mut me.write_by, cx)
    }
}

/// Lines to stderr about trouble, at most one every few seconds.
#[derive(Default)]
struct Log {
    last: Option<Instant>,
}

impl Log {
    fn say(&mut self, what: std::fmt::Arguments<'_>) {
        let now = Instant::now();
        if self.last.is_some_and(|t| now - t < Duration::from_secs(5)) {
            return;
        }
        self.last = Some(now);
        errln!("micrograd serve: {what}");
    }
}
