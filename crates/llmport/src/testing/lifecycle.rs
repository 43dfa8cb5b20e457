//! The life of a test server: an ephemeral port, a thread with its own runtime, an accept
//! loop, and a shutdown that has finished when `drop` returns.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// A TCP server on its own thread, with its own single-threaded Tokio runtime, that hands
/// every accepted connection to a handler. [`TestServer`](super::TestServer) is built on it;
/// so can a test's own server that must misbehave below HTTP (resets, cut chunks, silence).
///
/// Its own thread and runtime keep it serving while the test's runtime is blocked or busy,
/// whatever flavour of `#[tokio::test]` the test uses, and keep its tasks out of the test
/// runtime's. Dropping it stops it synchronously: when `drop` returns, the listening socket
/// is closed and every connection task has been dropped (closing its socket).
///
/// ```
/// use llmport::testing::ServerThread;
/// use tokio::io::AsyncWriteExt;
///
/// // A server that answers every connection with the same bytes and closes it.
/// let server = ServerThread::start([127, 0, 0, 1].into(), |mut stream| async move {
///     let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
/// })?;
/// assert!(server.addr().ip().is_loopback());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ServerThread {
    addr: SocketAddr,
    stop_tx: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for ServerThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerThread")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ServerThread {
    /// Binds `ip` on an ephemeral port and serves: every accepted connection (with
    /// `TCP_NODELAY` set, so that each write reaches the client at once) is passed to
    /// `on_connection`, whose future runs as its own task until it ends or the server stops.
    ///
    /// `on_connection` is called on the server's thread, in accept order.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound, or the runtime or the thread cannot be created.
    pub fn start<F, Fut>(ip: IpAddr, mut on_connection: F) -> io::Result<ServerThread>
    where
        F: FnMut(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let std_listener = std::net::TcpListener::bind((ip, 0))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Registered here, so that every error is the caller's to see, before any thread.
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(std_listener)
        };
        let listener = match listener {
            Ok(listener) => listener,
            Err(e) => {
                // Dropping a runtime blocks, which panics inside the caller's async context.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("llmport-test-server-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        () = accept_loop(listener, &mut on_connection) => {}
                        _ = stop_rx => {}
                    }
                    // Dropping `accept_loop` here closed the listener and aborted every
                    // connection task (they live in its `JoinSet`).
                });
                // Dropping the runtime drops the aborted tasks, closing their sockets.
                drop(runtime);
            })?;
        Ok(ServerThread {
            addr,
            stop_tx: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the server's root as a URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(stop_tx) = self.stop_tx.take() {
            let _ = stop_tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            // The thread only runs the server's own runtime, which ends promptly once told
            // to stop; a panic in it is not re-raised (it would abort a test that is
            // already unwinding).
            let _ = thread.join();
        }
    }
}

async fn accept_loop<F, Fut>(listener: TcpListener, on_connection: &mut F)
where
    F: FnMut(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(on_connection(stream));
                }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reaps finished connections, so that a long test does not keep them all.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
