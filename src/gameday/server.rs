//! The game's HTTP API (axum): reads are served from the latest published snapshot,
//! commands are sent to the game's single owner (the runtime loop) and answered once
//! applied, so concurrent requests are applied one at a time, each at one game instant.
//!
//! Safety: request bodies are capped at [`BODY_LIMIT`] bytes; with a token every control
//! endpoint (every POST) needs `Authorization: Bearer <token>`; every failure is a 4xx
//! with a JSON `{"error": ...}` body saying why.
//!
//! No client can hold the game hostage: a request's headers must arrive within
//! [`HEADER_TIMEOUT`] and its body within [`BODY_TIMEOUT`], at most [`MAX_CONNECTIONS`]
//! connections are served at once (more are closed on arrival), and when the game ends
//! the connections still open get [`SHUTDOWN_GRACE`] to finish before they are dropped.
//!
//! The contract with clients: only complete requests are applied. A request's whole body
//! is read (up to its `Content-Length` or final chunk) before any handler sees it, so a
//! client that closes its sending side, or stalls, before its body is complete has
//! nothing applied. A complete request is applied and answered even if the client has
//! closed its sending side after it (HTTP/1.1 half-close).

use super::console;
use super::game::Source;
use super::runtime::{Published, Reply, Request, ToGame};
use crate::scenario::Scenario;
use crate::sim::command::Command;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request as HttpRequest, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

/// The largest request body accepted: a command's body is a few dozen bytes, and an
/// Alertmanager webhook's (which a control endpoint accepts and ignores) a few KiB.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How long a client may take to send a request's headers (hyper's header read timeout);
/// the connection is closed after that.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's body once its headers are in: the
/// request is refused (408) and nothing applied.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; one more is closed as soon as it is accepted. Far above
/// what a team, its scripts, a Prometheus and an Alertmanager open together.
pub const MAX_CONNECTIONS: usize = 256;

/// When the game ends (`end`, Ctrl-C, the horizon), how long open connections get to
/// finish their request before they are dropped, so the scorecard is never held up.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` until `stop` fires (or is dropped), then gives open
/// connections [`SHUTDOWN_GRACE`] and drops the rest. It is `axum::serve` with the
/// server's limits: hyper's header read timeout, half-closed clients answered, a
/// connection limit.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, stop: oneshot::Receiver<()>) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .half_close(true);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A connection that failed before it was accepted (reset, or the process
                // out of descriptors for a moment): wait a little instead of spinning, as
                // axum::serve does.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Reap the connections that have finished, so the set stays as small as the
        // number of open connections.
        while connections.try_join_next().is_some() {}
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let conn =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        connections.spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    connections.shutdown().await;
}

/// What the handlers share.
#[derive(Clone)]
pub struct Shared {
    pub to_game: mpsc::Sender<ToGame>,
    pub published: watch::Receiver<Arc<Published>>,
    pub token: Option<String>,
    /// The scenario, to resolve `inject` by fault name as typed commands do.
    pub scenario: Arc<Scenario>,
}

impl Shared {
    pub fn new(
        to_game: mpsc::Sender<ToGame>,
        published: watch::Receiver<Arc<Published>>,
        token: Option<String>,
        scenario: &Scenario,
    ) -> Self {
        Shared {
            to_game,
            published,
            token,
            scenario: Arc::new(scenario.clone()),
        }
    }
}

/// A refused request: its status and why, sent as `{"error": why}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError(status, message.into()).into_response()
}

/// The API's routes.
pub fn router(shared: Shared) -> Router {
    let control = Router::new()
        .route("/api/rollback", post(|s| simple(s, Command::Rollback)))
        .route("/api/promote", post(|s| simple(s, Command::Promote)))
        .route("/api/pause", post(|s| simple(s, Command::Pause)))
        .route("/api/resume", post(|s| simple(s, Command::Resume)))
        .route("/api/ack", post(|s| simple(s, Command::Ack)))
        .route("/api/deploy", post(|s| simple(s, Command::Deploy)))
        .route("/api/flag", post(flag))
        .route("/api/inject", post(inject))
        .route("/api/advance", post(advance))
        .route("/api/end", post(end))
        .route_layer(middleware::from_fn_with_state(shared.clone(), authorize));
    Router::new()
        .route("/metrics", get(metrics))
        .route("/api/state", get(state))
        .merge(control)
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such endpoint; see GET /api/state and the README's game-day API",
            )
        })
        .layer(middleware::from_fn(whole_body))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

/// Reads a request's whole body, within [`BODY_TIMEOUT`] and [`BODY_LIMIT`], before any
/// handler sees it: a command applies only once its request is complete, and a client
/// that stalls or half-closes mid-body has nothing applied.
async fn whole_body(req: HttpRequest, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let read = Bytes::from_request(HttpRequest::from_parts(parts.clone(), body), &());
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(Ok(bytes)) => {
            next.run(HttpRequest::from_parts(parts, Body::from(bytes)))
                .await
        }
        // Over the limit (413), or cut short: the client closed or reset mid-body (400).
        Ok(Err(e)) => error(
            e.status(),
            format!("{}; nothing was applied", e.body_text()),
        ),
        Err(_) => error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {}s; nothing was applied",
                BODY_TIMEOUT.as_secs()
            ),
        ),
    }
}

async fn authorize(State(s): State<Shared>, req: HttpRequest, next: Next) -> Response {
    if let Some(token) = &s.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            return error(
                StatusCode::UNAUTHORIZED,
                "this game needs its token: send Authorization: Bearer <token>",
            );
        }
    }
    next.run(req).await
}

async fn metrics(State(s): State<Shared>) -> Response {
    let body = s.published.borrow().metrics.clone();
    ([(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)], body).into_response()
}

async fn state(State(s): State<Shared>) -> Response {
    let body = s.published.borrow().state.clone();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Sends a request to the game and waits for its answer.
async fn ask(s: &Shared, request: Request) -> Response {
    let (tx, rx) = oneshot::channel();
    if s.to_game
        .send(ToGame {
            request,
            reply: Some(tx),
        })
        .await
        .is_err()
    {
        return error(StatusCode::GONE, "the game is over");
    }
    match rx.await {
        Ok(Reply::Applied(a, now_ms)) => {
            let status = if a.done {
                StatusCode::OK
            } else {
                StatusCode::CONFLICT
            };
            let body = json!({ "done": a.done, "detail": a.detail, "game_time_s": now_ms as f64 / 1000.0 });
            (status, Json(body)).into_response()
        }
        Ok(Reply::Now(now_ms)) => {
            Json(json!({ "done": true, "game_time_s": now_ms as f64 / 1000.0 })).into_response()
        }
        Err(_) => error(StatusCode::GONE, "the game is over"),
    }
}

async fn simple(State(s): State<Shared>, command: Command) -> Response {
    ask(&s, Request::Command(command, Source::Http)).await
}

/// Bodies are JSON objects; a malformed one is a 400 that says why, and one of the wrong
/// shape a 422. Only an object is accepted: serde would otherwise take `[true]` for
/// `{"on": true}` (a struct from a sequence of its fields in order).
fn body<T: serde::de::DeserializeOwned>(
    b: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<T, ApiError> {
    let value = b.map(|Json(v)| v).map_err(|e| match e {
        JsonRejection::MissingJsonContentType(_) => ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with Content-Type: application/json".into(),
        ),
        other => ApiError(other.status(), other.body_text()),
    })?;
    if !value.is_object() {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the body must be a JSON object such as {{\"on\": true}}, not {value}"),
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Failed to deserialize the JSON body into the target type: {e}"),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagBody {
    on: bool,
}

async fn flag(
    State(s): State<Shared>,
    b: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    match body::<FlagBody>(b) {
        Ok(f) => {
            ask(
                &s,
                Request::Command(Command::Flag { on: f.on }, Source::Http),
            )
            .await
        }
        Err(r) => r.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectBody {
    fault: String,
    /// A duration such as "5m".
    duration: String,
}

async fn inject(
    State(s): State<Shared>,
    b: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let i = match body::<InjectBody>(b) {
        Ok(i) => i,
        Err(r) => return r.into_response(),
    };
    let fault = match console::fault_index(&s.scenario, &i.fault) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e),
    };
    let duration_ms = match console::duration_ms(&i.duration)
        .and_then(|d| super::game::check_inject_ms(&s.scenario, d).map(|()| d))
    {
        Ok(d) => d,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, format!("duration: {e}")),
    };
    ask(
        &s,
        Request::Command(Command::Inject { fault, duration_ms }, Source::Http),
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    /// A duration such as "10m".
    by: String,
}

async fn advance(
    State(s): State<Shared>,
    b: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    match body::<AdvanceBody>(b).and_then(|a| {
        console::duration_ms(&a.by)
            .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, format!("by: {e}")))
    }) {
        Ok(ms) => ask(&s, Request::Advance(ms)).await,
        Err(r) => r.into_response(),
    }
}

async fn end(State(s): State<Shared>) -> Response {
    ask(&s, Request::End).await
}
