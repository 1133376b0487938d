//! The HTTP endpoints: `/healthz` (the process runs), `/readyz` (the
//! engine is built, its state restored) and `/metrics` (Prometheus text).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use super::metrics::{Gauges, Metrics};

/// The state's gauges now; `None` while the engines are being built.
pub type Source = Arc<OnceLock<Box<dyn Fn() -> Gauges + Send + Sync>>>;

/// The running server.
pub struct Server {
    server: Arc<tiny_http::Server>,
    thread: JoinHandle<()>,
    addr: SocketAddr,
}

impl Server {
    /// Listens on `addr` (port 0: any free port) and answers on a thread.
    pub fn start(addr: SocketAddr, engine: Source, metrics: Arc<Metrics>) -> std::io::Result<Self> {
        let server = tiny_http::Server::http(addr).map_err(std::io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("not an IP address"))?;
        let server = Arc::new(server);
        let thread = {
            let server = Arc::clone(&server);
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let (status, body, kind) = answer(request.url(), &engine, &metrics);
                    let header =
                        tiny_http::Header::from_bytes(&b"Content-Type"[..], kind.as_bytes());
                    let mut response =
                        tiny_http::Response::from_string(body).with_status_code(status);
                    if let Ok(h) = header {
                        response = response.with_header(h);
                    }
                    let _ = request.respond(response);
                }
            })
        };
        Ok(Self {
            server,
            thread,
            addr,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops answering.
    pub fn stop(self) {
        self.server.unblock();
        let _ = self.thread.join();
    }
}

/// Status, body and content type of a request for `url`.
fn answer(
    url: &str,
    engine: &OnceLock<Box<dyn Fn() -> Gauges + Send + Sync>>,
    metrics: &Metrics,
) -> (u16, String, &'static str) {
    const TEXT: &str = "text/plain; charset=utf-8";
    match url.split('?').next().unwrap_or("") {
        "/healthz" => (200, "ok\n".into(), TEXT),
        "/readyz" => match engine.get() {
            Some(_) => (200, "ready\n".into(), TEXT),
            None => (503, "starting: restoring state\n".into(), TEXT),
        },
        "/metrics" => match engine.get() {
            Some(gauges) => (
                200,
                metrics.render(gauges(), super::now_s()),
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
            None => (503, "starting\n".into(), TEXT),
        },
        _ => (
            404,
            "not found: try /healthz, /readyz or /metrics\n".into(),
            TEXT,
        ),
    }
}
