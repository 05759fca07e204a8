//! The phone page: a small web page the robot serves itself, to see it and steer it from a
//! phone's browser. [`Phone`] says what the page shows and drives, [`PhoneServer`] is the
//! running server, [`Teleop`] tells the robot's own planner that the phone has the wheel,
//! [`PhoneArgs`] is `--phone [ADDR]`. The HTTP API lives in `api`, the page in `page.html`.
//!
//! ## Why axum, and why here
//! The Foxglove SDK's server speaks only Foxglove's WebSocket protocol: it serves no page and
//! takes no commands. axum is the tokio ecosystem's HTTP framework (hyper underneath), typed
//! extractors turn a bad request into a 4xx before a handler runs, and a `Router` can be tested
//! without a socket. It is built with `http1`, `json` and `tokio` only.
//!
//! The page lives in this crate (feature `phone`, on by default) rather than a crate of its
//! own because it shows what the Foxglove channels carry, in the same shapes:
//! [`HealthReport`], [`EStopState`], [`BatteryState`]. A robot that wants neither turns the
//! crate off; one that wants Foxglove without a page turns the feature off (no axum, no hyper).
//!
//! ## Safety
//! - It listens where it is told; [`PhoneArgs`] defaults to loopback (`127.0.0.1:8080`).
//! - Driving (`POST /api/drive`), handing the robot back (`POST /api/mode`) and releasing the
//!   E-stop (`POST /api/estop/reset`) need the token ([`Phone::token`], printed at start, in the
//!   page's address after `#token=`), sent as `Authorization: Bearer TOKEN`. Pressing the
//!   E-stop (`POST /api/estop`) needs none: anyone may stop a robot.
//! - A bad request gets a 4xx with a JSON `{"error": ...}` and never reaches a motor: the
//!   token, the body's shape, its ranges and the E-stop are all checked first.
//! - Driving goes through the motors' actors ([`Motor::set_speed`]) and so through their
//!   dead-man watchdogs: the page sends a command every 100 ms while the joystick is held; if
//!   the phone goes silent (tab closed, Wi-Fi lost) the motors stop by themselves. Give the
//!   motors a watchdog ([`MotorConfig::watchdog`](compaktor_pi::actors::MotorConfig)).

mod api;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use compaktor::{ActorRef, ActorSystem, Topic};
use compaktor_pi::actors::{BatteryReading, Motor, MotorEvent, PoseEstimate};
use compaktor_pi::safety::EStop;
use futures::StreamExt;
use tokio::task::JoinHandle;

pub use api::{DriveCommand, Driver, ModeCommand, PhoneStatus, PoseView};

#[cfg(doc)]
use crate::{
    HealthReport,
    robot::{BatteryState, EStopState},
};

/// Where the page is served when `--phone` is given without an address: loopback only.
pub const DEFAULT_PHONE_ADDR: &str = "127.0.0.1:8080";

/// Why the phone page could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// The address could not be listened on.
    #[error("cannot serve the phone page on {addr}: {source}")]
    Bind {
        /// Where it was to listen.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A drive motor did not give its topic (it has stopped, or does not answer).
    #[error("cannot follow the drive motor {motor}: {reason}")]
    Motor {
        /// The motor's actor.
        motor: String,
        /// Why.
        reason: String,
    },
    /// The system's random source failed: no token could be made.
    #[error("cannot make the phone page's token: {0}")]
    Token(String),
}

/// `--phone [ADDR]`: serve the phone page. Flatten it into the program's `clap::Parser`.
///
/// ```
/// use clap::Parser;
/// use compaktor_foxglove::phone::PhoneArgs;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     phone: PhoneArgs,
/// }
///
/// assert_eq!(Cli::parse_from(["robot"]).phone.phone, None); // off unless asked for
/// let on = Cli::parse_from(["robot", "--phone"]).phone.phone.unwrap();
/// assert!(on.ip().is_loopback());
/// let lan = Cli::parse_from(["robot", "--phone", "0.0.0.0:8080"]).phone.phone.unwrap();
/// assert!(lan.ip().is_unspecified());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, clap::Args)]
pub struct PhoneArgs {
    /// Serve the phone page (status, actor tree, E-stop, joystick) on ADDR [default:
    /// 127.0.0.1:8080, loopback only; 0.0.0.0:8080 for the robot's network]. Driving and
    /// releasing the E-stop need the token printed at start
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = DEFAULT_PHONE_ADDR
    )]
    pub phone: Option<SocketAddr>,
}

/// Whether the phone has the wheel, for the robot's own planner: from the first joystick
/// command until the page's *Auto* button gives the robot back (or [`give_back`]). While
/// [`phone_drives`] is true the planner must send the motors nothing, so the phone's commands
/// (and, when the phone goes silent, the motors' watchdogs) are all that drive them.
///
/// [`give_back`]: Self::give_back
/// [`phone_drives`]: Self::phone_drives
///
/// ```
/// use compaktor_foxglove::phone::Teleop;
///
/// let teleop = Teleop::default();
/// assert!(!teleop.phone_drives());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Teleop {
    driving: Arc<AtomicBool>,
}

impl Teleop {
    /// Whether the phone has the wheel.
    pub fn phone_drives(&self) -> bool {
        self.driving.load(Ordering::SeqCst)
    }

    /// Takes the wheel (the first joystick command does).
    pub(crate) fn take(&self) {
        self.driving.store(true, Ordering::SeqCst);
    }

    /// Gives the robot back to its planner.
    pub fn give_back(&self) {
        self.driving.store(false, Ordering::SeqCst);
    }
}

/// What the phone page shows and drives. Build it, then [`serve`](Self::serve) it (or take its
/// [`router`](Self::router) to mount or test).
///
/// ```no_run
/// use std::time::Duration;
/// use compaktor::prelude::*;
/// use compaktor_foxglove::phone::Phone;
/// use compaktor_pi::safety::EStop;
///
/// # async fn doc(system: ActorSystem, estop: EStop,
/// #     left: ActorRef<compaktor_pi::actors::Motor>, right: ActorRef<compaktor_pi::actors::Motor>)
/// #     -> Result<(), Box<dyn std::error::Error>> {
/// let phone = Phone::new(&system, &estop)?.drive(left, right);
/// let teleop = phone.teleop(); // for the planner: hands off while the phone drives
/// let server = phone.serve("127.0.0.1:8080".parse()?).await?;
/// println!("phone page: {}", server.url());
/// // ... the run ...
/// server.stop().await;
/// # Ok(()) }
/// ```
pub struct Phone {
    pub(crate) system: ActorSystem,
    pub(crate) estop: EStop,
    pub(crate) token: String,
    pub(crate) teleop: Teleop,
    pub(crate) max_duty: f32,
    drive: Option<[ActorRef<Motor>; 2]>,
    battery: Option<Topic<BatteryReading>>,
    pose: Option<Topic<PoseEstimate>>,
    mode: Option<FollowMode>,
}

/// Starts following the robot's mode topic into the page's mode.
type FollowMode = Box<dyn FnOnce(&Latest<String>) -> JoinHandle<()> + Send>;

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Phone")
            .field("system", &self.system.name())
            .field("drives", &self.drive.is_some())
            .field("max_duty", &self.max_duty)
            .finish_non_exhaustive()
    }
}

impl Phone {
    /// A page for `system` and its `estop`, with a new random token (128 bits from the system's
    /// random source).
    ///
    /// # Errors
    /// [`PhoneError::Token`] if the system's random source fails.
    pub fn new(system: &ActorSystem, estop: &EStop) -> Result<Self, PhoneError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| PhoneError::Token(e.to_string()))?;
        let token = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Phone {
            system: system.clone(),
            estop: estop.clone(),
            token,
            teleop: Teleop::default(),
            max_duty: 0.6,
            drive: None,
            battery: None,
            pose: None,
            mode: None,
        })
    }

    /// The token driving and releasing the E-stop need.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The handle that tells the robot's planner the phone has the wheel.
    pub fn teleop(&self) -> Teleop {
        self.teleop.clone()
    }

    /// Shares `teleop` (made before the page, for a planner started before it) instead of the
    /// page's own handle.
    pub fn with_teleop(mut self, teleop: Teleop) -> Self {
        self.teleop = teleop;
        self
    }

    /// The joystick drives these two motors (differential drive: full forward is both at
    /// the top duty, full turn is one forward and one back).
    pub fn drive(mut self, left: ActorRef<Motor>, right: ActorRef<Motor>) -> Self {
        self.drive = Some([left, right]);
        self
    }

    /// The joystick's full deflection is this duty (0.6 unless set; clamped to 0.0..=1.0).
    pub fn max_duty(mut self, duty: f32) -> Self {
        self.max_duty = if duty.is_nan() {
            0.0
        } else {
            duty.clamp(0.0, 1.0)
        };
        self
    }

    /// The page shows the newest reading of this battery.
    pub fn battery(mut self, readings: &Topic<BatteryReading>) -> Self {
        self.battery = Some(readings.clone());
        self
    }

    /// The page shows the newest pose estimate.
    pub fn pose(mut self, poses: &Topic<PoseEstimate>) -> Self {
        self.pose = Some(poses.clone());
        self
    }

    /// The page shows the robot's mode, the newest value of `modes` as `label` puts it.
    pub fn mode<M: Clone + Send + 'static>(
        mut self,
        modes: &Topic<M>,
        label: impl Fn(&M) -> String + Send + 'static,
    ) -> Self {
        let modes = modes.clone();
        self.mode = Some(Box::new(move |latest: &Latest<String>| {
            follow(&modes, latest.clone(), move |m| Some(label(&m)))
        }));
        self
    }

    /// The page and its API as an axum `Router`, following the topics it shows from now on
    /// (the tasks end with the returned [`Followers`]).
    ///
    /// # Errors
    /// [`PhoneError::Motor`] if a drive motor does not give its topic.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub async fn router(mut self) -> Result<(axum::Router, Followers), PhoneError> {
        let mut tasks = Vec::new();
        let duties = match &self.drive {
            Some(motors) => {
                let mut duties = Vec::new();
                for motor in motors {
                    let topic = motor
                        .topic()
                        .timeout(std::time::Duration::from_secs(1))
                        .await
                        .map_err(|e| PhoneError::Motor {
                            motor: motor.label().to_string(),
                            reason: e.to_string(),
                        })?;
                    let duty = Latest::new(Some(0.0));
                    tasks.push(follow(&topic, duty.clone(), |event| {
                        Some(match event {
                            MotorEvent::Speed(duty) => duty,
                            MotorEvent::Braked | MotorEvent::SafeState(_) => 0.0,
                        })
                    }));
                    duties.push(duty);
                }
                Some(duties)
            }
            None => None,
        };
        let battery = Latest::new(None);
        if let Some(topic) = &self.battery {
            tasks.push(follow(topic, battery.clone(), Some));
        }
        let pose = Latest::new(None);
        if let Some(topic) = &self.pose {
            tasks.push(follow(topic, pose.clone(), Some));
        }
        let mode = Latest::new(None);
        if let Some(start) = self.mode.take() {
            tasks.push(start(&mode));
        }
        let state = api::State {
            system: self.system,
            estop: self.estop,
            token: self.token,
            teleop: self.teleop,
            max_duty: self.max_duty,
            motors: self.drive,
            duties,
            battery,
            pose,
            mode,
        };
        Ok((api::router(Arc::new(state)), Followers(tasks)))
    }

    /// Serves the page on `addr` (port 0 picks a free one) until [`PhoneServer::stop`].
    ///
    /// # Errors
    /// [`PhoneError::Bind`] if it cannot listen there, [`PhoneError::Motor`] as
    /// [`router`](Self::router).
    pub async fn serve(self, addr: SocketAddr) -> Result<PhoneServer, PhoneError> {
        let token = self.token.clone();
        let (router, followers) = self.router().await?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| PhoneError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| PhoneError::Bind { addr, source })?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the phone page's server failed");
            }
        });
        Ok(PhoneServer {
            addr: bound,
            token,
            stop: Some(stop),
            task,
            _followers: followers,
        })
    }
}

/// The tasks that follow the topics a page shows; dropping it ends them.
#[derive(Debug)]
pub struct Followers(Vec<JoinHandle<()>>);

impl Drop for Followers {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The running phone page. Dropping it stops the server too (abruptly).
#[derive(Debug)]
pub struct PhoneServer {
    addr: SocketAddr,
    token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<()>,
    _followers: Followers,
}

impl PhoneServer {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's address with the token (after `#`, so it is never sent to the server in
    /// the address or logged): open it on the phone. On `0.0.0.0` use the robot's address.
    pub fn url(&self) -> String {
        format!("http://{}/#token={}", self.addr, self.token)
    }

    /// Stops serving: open connections finish their requests.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for PhoneServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The newest value of something the page shows.
#[derive(Debug)]
pub(crate) struct Latest<T>(Arc<Mutex<Option<T>>>);

impl<T> Clone for Latest<T> {
    fn clone(&self) -> Self {
        Latest(Arc::clone(&self.0))
    }
}

impl<T: Clone> Latest<T> {
    fn new(value: Option<T>) -> Self {
        Latest(Arc::new(Mutex::new(value)))
    }

    pub(crate) fn get(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, value: T) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
    }
}

/// Follows `topic`, keeping what `pick` makes of each value in `latest`.
fn follow<T, U>(
    topic: &Topic<T>,
    latest: Latest<U>,
    pick: impl Fn(T) -> Option<U> + Send + 'static,
) -> JoinHandle<()>
where
    T: Clone + Send + 'static,
    U: Clone + Send + 'static,
{
    let mut values = topic.stream();
    tokio::spawn(async move {
        while let Some(value) = values.next().await {
            if let Some(value) = pick(value) {
                latest.set(value);
            }
        }
    })
}
