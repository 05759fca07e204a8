//! The phone page's HTTP API: the routes, what each takes and answers, and the errors (a 4xx
//! with a JSON `{"error": ...}` for every bad request, before anything reaches a motor).
//!
//! | route | token | does |
//! | --- | --- | --- |
//! | `GET /` | no | the page |
//! | `GET /api/status` | no | [`PhoneStatus`] |
//! | `POST /api/estop` | no | pulls the E-stop |
//! | `POST /api/estop/reset` | yes | releases it (refused while an input is asserted) |
//! | `POST /api/drive` | yes | [`DriveCommand`]: the phone takes the wheel and drives |
//! | `POST /api/mode` | yes | [`ModeCommand`]: `auto` gives the robot back |

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use compaktor::{ActorRef, ActorSystem, AskError};
use compaktor_pi::actors::{BatteryReading, Motor, MotorError, PoseEstimate};
use compaktor_pi::safety::{EStop, ResetError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Latest, Teleop};
use crate::robot::{BatteryState, EStopState};
use crate::system::HealthReport;

/// The page itself: one file, no external resources (a robot's network has no internet).
const PAGE: &str = include_str!("page.html");

/// Bodies are a few dozen bytes; anything over this is refused (413) unread.
const BODY_LIMIT: usize = 1024;

/// How long a motor has to take a command before the request fails (the watchdog stops it).
const MOTOR_TIMEOUT: Duration = Duration::from_millis(200);

/// The reason an E-stop pulled from the page gives.
pub(crate) const PRESSED_ON_PHONE: &str = "E-stop pressed on the phone page";

/// What the handlers share.
pub(crate) struct State {
    pub(crate) system: ActorSystem,
    pub(crate) estop: EStop,
    pub(crate) token: String,
    pub(crate) teleop: Teleop,
    pub(crate) max_duty: f32,
    pub(crate) motors: Option<[ActorRef<Motor>; 2]>,
    pub(crate) duties: Option<Vec<Latest<f32>>>,
    pub(crate) battery: Latest<BatteryReading>,
    pub(crate) pose: Latest<PoseEstimate>,
    pub(crate) mode: Latest<String>,
}

type Shared = Arc<State>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/status", get(status))
        .route("/api/estop", post(press_estop))
        .route("/api/estop/reset", post(reset_estop))
        .route("/api/drive", post(drive))
        .route("/api/mode", post(mode))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Why a request was refused: its status and a message saying what to send instead.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error(
        "this needs the token printed when the robot started: send `Authorization: Bearer TOKEN`"
    )]
    NoToken,
    #[error("wrong token: use the one printed when the robot started")]
    WrongToken,
    #[error("{0}")]
    Body(String, StatusCode),
    #[error("`{field}` must be a number within -1.0..=1.0, got {value}")]
    OutOfRange { field: &'static str, value: f64 },
    #[error("the E-stop is engaged; release it before driving")]
    EStopEngaged,
    #[error(transparent)]
    ResetRefused(#[from] ResetError),
    #[error("this robot's page has no drive motors to steer")]
    NoDrive,
    #[error("the motor {motor} refused: {reason}")]
    Motor { motor: String, reason: String },
    #[error("no such page or API: {0}")]
    NotFound(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::NoToken => StatusCode::UNAUTHORIZED,
            ApiError::WrongToken => StatusCode::FORBIDDEN,
            ApiError::Body(_, status) => *status,
            ApiError::OutOfRange { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::EStopEngaged | ApiError::ResetRefused(_) => StatusCode::CONFLICT,
            ApiError::NoDrive | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Motor { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::Body(rejection.body_text(), rejection.status())
    }
}

/// The extractor that proves a request carries the token. It runs before the body is read.
struct Authorized;

impl FromRequestParts<Shared> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::NoToken)?
            .to_str()
            .map_err(|_| ApiError::WrongToken)?;
        let given = given.strip_prefix("Bearer ").ok_or(ApiError::NoToken)?;
        match same(given.trim().as_bytes(), state.token.as_bytes()) {
            true => Ok(Authorized),
            false => Err(ApiError::WrongToken),
        }
    }
}

/// Compares in time independent of where the bytes differ (so the token cannot be guessed a
/// byte at a time from response times). Written out: ten lines do not warrant a dependency.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A joystick position: `forward` (-1 full reverse ..= 1 full ahead) and `turn` (-1 full
/// left ..= 1 full right). The phone's top duty scales it; the sum is clipped per wheel.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriveCommand {
    /// Ahead (+) or back (-), -1.0..=1.0.
    pub forward: f64,
    /// Right (+) or left (-), -1.0..=1.0.
    pub turn: f64,
}

impl DriveCommand {
    /// The (left, right) duties for a top duty of `max_duty`.
    fn duties(self, max_duty: f32) -> (f32, f32) {
        let wheel = |v: f64| (v.clamp(-1.0, 1.0) as f32) * max_duty;
        (
            wheel(self.forward + self.turn),
            wheel(self.forward - self.turn),
        )
    }
}

/// Who drives: `{"mode": "auto"}` gives the robot back to its planner, `{"mode": "phone"}`
/// takes the wheel without moving (the planner stops sending; the watchdogs stop the motors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeCommand {
    /// `auto` or `phone`.
    pub mode: Driver,
}

/// Who drives the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// The robot's own planner.
    Auto,
    /// The phone's joystick.
    Phone,
}

/// A pose estimate as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PoseView {
    /// Meters along x from where odometry started.
    pub x: f64,
    /// Meters along y.
    pub y: f64,
    /// Degrees counter-clockwise from +x.
    pub heading_deg: f64,
}

/// `GET /api/status`: everything the page shows.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PhoneStatus {
    /// The system's name.
    pub robot: String,
    /// The E-stop.
    pub estop: EStopState,
    /// The newest battery reading, if the page has a battery.
    pub battery: Option<BatteryState>,
    /// `phone` while the phone drives, else the robot's mode (if the page has one).
    pub mode: Option<String>,
    /// Whether the phone drives.
    pub phone_drives: bool,
    /// The newest pose estimate, if the page has one.
    pub pose: Option<PoseView>,
    /// The drive motors' duties now (left, right), if the page drives.
    pub duties: Option<Vec<f32>>,
    /// The joystick's full deflection, as a duty.
    pub max_duty: f32,
    /// Every actor.
    pub health: HealthReport,
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Html(PAGE),
    )
        .into_response()
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}

fn status_of(state: &State) -> PhoneStatus {
    let phone_drives = state.teleop.phone_drives();
    PhoneStatus {
        robot: state.system.name().to_owned(),
        estop: EStopState::of(&state.estop),
        battery: state.battery.get().map(BatteryState::from),
        mode: match phone_drives {
            true => Some("phone".to_owned()),
            false => state.mode.get(),
        },
        phone_drives,
        pose: state.pose.get().map(|p| PoseView {
            x: p.x,
            y: p.y,
            heading_deg: p.heading.to_degrees(),
        }),
        duties: state
            .duties
            .as_ref()
            .map(|d| d.iter().map(|d| d.get().unwrap_or(0.0)).collect()),
        max_duty: state.max_duty,
        health: HealthReport::of(&state.system),
    }
}

async fn status(axum::extract::State(state): axum::extract::State<Shared>) -> Json<PhoneStatus> {
    Json(status_of(&state))
}

/// Anyone may stop a robot: no token.
async fn press_estop(
    axum::extract::State(state): axum::extract::State<Shared>,
) -> Json<PhoneStatus> {
    let report = state.estop.trigger(PRESSED_ON_PHONE);
    tracing::warn!(%report, "E-stop pressed on the phone page");
    Json(status_of(&state))
}

async fn reset_estop(
    _: Authorized,
    axum::extract::State(state): axum::extract::State<Shared>,
) -> Result<Json<PhoneStatus>, ApiError> {
    state.estop.reset()?;
    tracing::info!("E-stop released from the phone page");
    Ok(Json(status_of(&state)))
}

async fn drive(
    _: Authorized,
    axum::extract::State(state): axum::extract::State<Shared>,
    body: Result<Json<DriveCommand>, JsonRejection>,
) -> Result<Json<PhoneStatus>, ApiError> {
    let Json(command) = body?;
    for (field, value) in [("forward", command.forward), ("turn", command.turn)] {
        if !(-1.0..=1.0).contains(&value) {
            return Err(ApiError::OutOfRange { field, value });
        }
    }
    let motors = state.motors.as_ref().ok_or(ApiError::NoDrive)?;
    if state.estop.is_engaged() {
        return Err(ApiError::EStopEngaged);
    }
    state.teleop.take();
    let (left, right) = command.duties(state.max_duty);
    let (l, r) = tokio::join!(
        motors[0].set_speed(left).timeout(MOTOR_TIMEOUT),
        motors[1].set_speed(right).timeout(MOTOR_TIMEOUT)
    );
    for (motor, result) in motors.iter().zip([l, r]) {
        match result {
            Ok(()) => {}
            Err(AskError::Handler(MotorError::EStopEngaged)) => return Err(ApiError::EStopEngaged),
            Err(e) => {
                return Err(ApiError::Motor {
                    motor: motor.label().to_string(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(Json(status_of(&state)))
}

async fn mode(
    _: Authorized,
    axum::extract::State(state): axum::extract::State<Shared>,
    body: Result<Json<ModeCommand>, JsonRejection>,
) -> Result<Json<PhoneStatus>, ApiError> {
    let Json(command) = body?;
    match command.mode {
        Driver::Auto => state.teleop.give_back(),
        Driver::Phone => state.teleop.take(),
    }
    Ok(Json(status_of(&state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abcd", b"abcd"));
        assert!(!same(b"abcd", b"abce"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
    }

    #[test]
    fn the_joystick_mixes_to_wheels() {
        let duties = |forward, turn| DriveCommand { forward, turn }.duties(0.5);
        assert_eq!(duties(1.0, 0.0), (0.5, 0.5));
        assert_eq!(duties(0.0, 1.0), (0.5, -0.5));
        assert_eq!(duties(1.0, 1.0), (0.5, 0.0));
        assert_eq!(duties(-1.0, 0.5), (-0.25, -0.5));
    }
}
