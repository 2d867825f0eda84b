//! The game's HTTP API (axum): reads are served from the latest published snapshot,
//! commands are sent to the game's single owner (the runtime loop) and answered once
//! applied, so concurrent requests are applied one at a time, each at one game instant.
//!
//! Safety: request bodies are capped at [`BODY_LIMIT`] bytes; with a token every control
//! endpoint (every POST) needs `Authorization: Bearer <token>`; every failure is a 4xx
//! with a JSON `{"error": ...}` body saying why.

use super::console;
use super::game::Source;
use super::runtime::{Published, Reply, Request, ToGame};
use crate::scenario::Scenario;
use crate::sim::command::Command;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Request as HttpRequest, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// The largest request body accepted: a command's body is a few dozen bytes, and an
/// Alertmanager webhook's (which a control endpoint accepts and ignores) a few KiB.
pub const BODY_LIMIT: usize = 64 * 1024;

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
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
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

/// Bodies are optional JSON objects; a malformed one is a 400 that says why.
fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|e| match e {
        JsonRejection::MissingJsonContentType(_) => ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with Content-Type: application/json".into(),
        ),
        other => ApiError(other.status(), other.body_text()),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagBody {
    on: bool,
}

async fn flag(State(s): State<Shared>, b: Result<Json<FlagBody>, JsonRejection>) -> Response {
    match body(b) {
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

async fn inject(State(s): State<Shared>, b: Result<Json<InjectBody>, JsonRejection>) -> Response {
    let i = match body(b) {
        Ok(i) => i,
        Err(r) => return r.into_response(),
    };
    let fault = match console::fault_index(&s.scenario, &i.fault) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e),
    };
    let duration_ms = match console::duration_ms(&i.duration) {
        Ok(0) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "duration must be above zero",
            )
        }
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

async fn advance(State(s): State<Shared>, b: Result<Json<AdvanceBody>, JsonRejection>) -> Response {
    match body(b).and_then(|a| {
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
