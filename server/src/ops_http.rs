//! The operator's HTTP endpoint (off by default; `[metrics] listen`):
//! `GET /metrics` (Prometheus text format), `GET /health` (the process is
//! alive: 200) and `GET /ready` (the database and the media store answer:
//! 200, else 503 with the reason). Plain HTTP on TCP: keep it on loopback
//! or a private network.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::Kind;
use crate::AppState;

/// Binds the endpoint and serves it on `tracker` until `cancel`.
pub async fn start(
    addr: SocketAddr,
    state: Arc<AppState>,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(state);
    tracker.spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!("metrics endpoint stopped: {e}");
        }
    });
    Ok(local)
}

async fn health() -> &'static str {
    "ok\n"
}

async fn ready(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    if let Err(e) = sqlx::query("SELECT 1").execute(state.store.pool()).await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {e}\n"),
        );
    }
    if let Err(e) = state.media_store.probe().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("media store unreachable: {e}\n"),
        );
    }
    (StatusCode::OK, "ready\n".to_string())
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let m = &state.metrics;
    let pool = state.store.pool();
    let size = i64::from(pool.size());
    let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
    m.db_connections.get_or_create(&Kind::of("idle")).set(idle);
    m.db_connections
        .get_or_create(&Kind::of("in_use"))
        .set((size - idle).max(0));
    let started = Instant::now();
    if sqlx::query("SELECT 1").execute(pool).await.is_ok() {
        m.db_ping.set(started.elapsed().as_secs_f64());
    }
    match state.jobs.queue_depth().await {
        Ok(n) => {
            m.transcription_queue
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::warn!("metrics: transcription queue depth: {e}"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.encode(),
    )
}
