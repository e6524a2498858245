//! Builds the application: state, listener (port 0 in tests), routes, middleware, workers.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App as ActixApp, HttpServer, web};
use anyhow::Context;
use tokio::sync::watch;

use crate::app::App;
use crate::clock::Clock;
use crate::config::Settings;

pub struct Application {
    port: u16,
    server: Server,
    app: Arc<App>,
    /// The separate metrics listener (`metrics.listen`): its port and a handle to stop it. It is
    /// already serving.
    metrics: Option<(u16, actix_web::dev::ServerHandle)>,
}

impl Application {
    /// Binds the listener first, so `listen = "127.0.0.1:0"` works and links use the real port.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {} (is another server using it?)", settings.listen))?;
        let addr = listener.local_addr()?;
        let base_url = settings.base_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let app = Arc::new(App::new(settings, clock, base_url).await?);
        let data = web::Data::from(app.clone());
        let metrics_data = data.clone();
        let server = HttpServer::new(move || {
            ActixApp::new()
                .app_data(data.clone())
                .wrap(from_fn(crate::web::middleware::layer))
                .configure(crate::web::routes)
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .disable_signals()
        .run();
        let metrics = match (app.settings.metrics.enabled, app.settings.metrics.listen) {
            (true, Some(listen)) => Some(Self::metrics_server(listen, metrics_data)?),
            _ => None,
        };
        Ok(Self { port: addr.port(), server, app, metrics })
    }

    /// `/metrics`, `/health` and `/ready` alone on their own address, on one worker.
    fn metrics_server(
        listen: std::net::SocketAddr,
        data: web::Data<App>,
    ) -> anyhow::Result<(u16, actix_web::dev::ServerHandle)> {
        let listener = TcpListener::bind(listen).with_context(|| {
            format!("cannot listen on {listen} for metrics (metrics.listen; is another server using it?)")
        })?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || ActixApp::new().app_data(data.clone()).configure(crate::web::ops::routes))
            .workers(1)
            .listen(listener)?
            .shutdown_timeout(5)
            .disable_signals()
            .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok((port, handle))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, when `metrics.listen` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    pub fn app(&self) -> Arc<App> {
        self.app.clone()
    }

    /// Serves until SIGINT or SIGTERM, with the configured workers, then stops claiming jobs, lets
    /// the jobs in hand finish, and closes the listener.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let workers = crate::jobs::spawn_workers(self.app.clone(), self.app.settings.jobs.workers, stop_rx);
        let handle = self.server.handle();
        let server = tokio::spawn(self.server);
        shutdown_signal().await;
        tracing::info!("stopping: no new jobs, finishing the ones in hand");
        let _ = stop_tx.send(true);
        for w in workers {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), w).await;
        }
        handle.stop(true).await;
        if let Some((_, metrics)) = &self.metrics {
            metrics.stop(true).await;
        }
        let _ = server.await;
        Ok(())
    }

    /// The server alone, for tests that drive jobs themselves.
    pub fn into_server(self) -> Server {
        self.server
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
