//! The robot's devices as channels, in the shapes Foxglove's standard panels show without
//! configuration: the pose estimate as a `PoseInFrame` (3D panel), a sonar's readings as a
//! one-ray `LaserScan` (3D panel; `.ranges[0]` in a plot), motors, battery, IMU and line
//! sensor as JSON (plots of `.duty`, `.voltage`, `.gyro[2]`, `.position`), the E-stop as JSON
//! (sampled, since it has no topic).

use std::time::Duration;

use compaktor::Topic;
use compaktor_pi::actors::{
    BatteryLevel, BatteryReading, Distance, LineReading, MotorEvent, PoseEstimate, SafeCause,
};
use compaktor_pi::device::ImuSample;
use compaktor_pi::safety::EStop;
use foxglove::messages::{LaserScan, Pose, PoseInFrame, Quaternion, Vector3};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{Bridge, BridgeError, RobotClock};

/// The frame the robot's body is in: sonar scans are drawn in it. In simulation
/// [`Bridge::simulation`] places it in the arena (the true pose); on a robot, the
/// pose estimate does (see [`Bridge::pose`]).
pub const ROBOT_FRAME: &str = "robot";
/// The frame odometry counts in: where it started, facing +x.
pub const ODOM_FRAME: &str = "odom";

/// What a motor was told, for a plot: its duty after each event.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MotorState {
    /// The duty now, -1.0 to 1.0 (0 after a brake or a safe state).
    pub duty: f32,
    /// `speed`, `braked` or `safe_state`.
    pub event: String,
    /// Why it went to its safe state (`watchdog`, `estop`, or why it stopped).
    pub cause: Option<String>,
}

impl From<MotorEvent> for MotorState {
    fn from(event: MotorEvent) -> Self {
        match event {
            MotorEvent::Speed(duty) => MotorState {
                duty,
                event: "speed".into(),
                cause: None,
            },
            MotorEvent::Braked => MotorState {
                duty: 0.0,
                event: "braked".into(),
                cause: None,
            },
            MotorEvent::SafeState(cause) => MotorState {
                duty: 0.0,
                event: "safe_state".into(),
                cause: Some(match cause {
                    SafeCause::Watchdog { silent_for } => {
                        format!("watchdog: silent for {silent_for:?}")
                    }
                    SafeCause::Stopping(why) => format!("stopping: {why}"),
                    SafeCause::EStop => "estop".into(),
                }),
            },
        }
    }
}

/// One battery reading.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BatteryState {
    /// The battery's voltage, V.
    pub voltage: f32,
    /// The current drawn, A.
    pub current: f32,
    /// `Ok`, `Low` (time to head home) or `Critical` (the E-stop has been pulled).
    pub level: String,
}

impl From<BatteryReading> for BatteryState {
    fn from(reading: BatteryReading) -> Self {
        BatteryState {
            voltage: reading.voltage,
            current: reading.current,
            level: match reading.level {
                BatteryLevel::Ok => "Ok",
                BatteryLevel::Low => "Low",
                BatteryLevel::Critical => "Critical",
            }
            .into(),
        }
    }
}

/// One IMU sample.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ImuState {
    /// Acceleration in m/s² (x, y, z).
    pub accel: [f32; 3],
    /// Angular rate in rad/s (x, y, z).
    pub gyro: [f32; 3],
}

impl From<ImuSample> for ImuState {
    fn from(sample: ImuSample) -> Self {
        ImuState {
            accel: sample.accel,
            gyro: sample.gyro,
        }
    }
}

/// One line-sensor reading.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LineState {
    /// Where the line is under the sensor, -1.0 (left) to 1.0 (right); `None` when lost.
    pub position: Option<f32>,
    /// Each sensor's raw value.
    pub raw: Vec<u16>,
}

impl From<LineReading> for LineState {
    fn from(reading: LineReading) -> Self {
        LineState {
            position: reading.position,
            raw: reading.raw,
        }
    }
}

/// The E-stop's state.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct EStopState {
    /// Whether it is engaged (every actuator held in its safe state).
    pub engaged: bool,
    /// Why it was last pulled.
    pub reason: Option<String>,
    /// How long its last pull took until every actuator was safe, in ms.
    pub latency_ms: Option<f64>,
    /// Whether every actuator reached its safe state on the last pull.
    pub all_safe: Option<bool>,
}

impl EStopState {
    /// The state of `estop` now.
    pub fn of(estop: &EStop) -> Self {
        let report = estop.last_report();
        EStopState {
            engaged: estop.is_engaged(),
            reason: report.as_ref().map(|r| r.reason.clone()),
            latency_ms: report.as_ref().map(|r| r.latency.as_secs_f64() * 1e3),
            all_safe: report.as_ref().map(|r| r.all_safe()),
        }
    }
}

/// A pose in the plane as a Foxglove pose: `heading` radians about +z.
pub(crate) fn planar_pose(x: f64, y: f64, heading: f64) -> Pose {
    Pose {
        position: Some(Vector3 { x, y, z: 0.0 }),
        orientation: Some(yaw(heading)),
    }
}

/// A rotation of `heading` radians about +z.
pub(crate) fn yaw(heading: f64) -> Quaternion {
    let half = heading / 2.0;
    Quaternion {
        x: 0.0,
        y: 0.0,
        z: half.sin(),
        w: half.cos(),
    }
}

/// A sonar reading as a one-ray scan straight ahead in [`ROBOT_FRAME`]; nothing in range is
/// an infinite range (as ROS's `sensor_msgs/Range` has it).
pub fn sonar_scan(reading: &Distance, clock: &RobotClock) -> LaserScan {
    LaserScan {
        timestamp: Some(clock.timestamp(reading.at)),
        frame_id: ROBOT_FRAME.into(),
        pose: Some(planar_pose(0.0, 0.0, 0.0)),
        start_angle: 0.0,
        end_angle: 0.0,
        ranges: vec![f64::from(reading.range.clearance())],
        intensities: Vec::new(),
    }
}

/// A pose estimate in [`ODOM_FRAME`].
pub fn pose_in_frame(estimate: &PoseEstimate, clock: &RobotClock) -> PoseInFrame {
    PoseInFrame {
        timestamp: Some(crate::clock::timestamp(clock.now_nanos())),
        frame_id: ODOM_FRAME.into(),
        pose: Some(planar_pose(estimate.x, estimate.y, estimate.heading)),
    }
}

impl Bridge {
    /// Bridges a sonar's readings ([`Ultrasonic::topic`](compaktor_pi::actors::Ultrasonic))
    /// to a one-ray `LaserScan` channel named like the topic.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has that channel.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn sonar(&mut self, topic: &Topic<Distance>) -> Result<&mut Self, BridgeError> {
        let clock = self.clock();
        self.topic_as(topic, &channel_of(topic), move |d| sonar_scan(&d, &clock))
    }

    /// Bridges a motor's events ([`Motor::topic`](compaktor_pi::actors::Motor)) to a
    /// [`MotorState`] channel named like the topic.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has that channel.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn motor(&mut self, topic: &Topic<MotorEvent>) -> Result<&mut Self, BridgeError> {
        self.topic_as(topic, &channel_of(topic), MotorState::from)
    }

    /// Bridges odometry's pose estimates to a `PoseInFrame` channel (in [`ODOM_FRAME`]) named
    /// like the topic.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has that channel.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn pose(&mut self, topic: &Topic<PoseEstimate>) -> Result<&mut Self, BridgeError> {
        let clock = self.clock();
        self.topic_as(topic, &channel_of(topic), move |p| {
            pose_in_frame(&p, &clock)
        })
    }

    /// Bridges a battery monitor's readings ([`Battery::topic`](compaktor_pi::actors::Battery))
    /// to a [`BatteryState`] channel named like the topic.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has that channel.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn battery(&mut self, topic: &Topic<BatteryReading>) -> Result<&mut Self, BridgeError> {
        self.topic_as(topic, &channel_of(topic), BatteryState::from)
    }

    /// Bridges an IMU's samples to an [`ImuState`] channel named like the topic.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has that channel.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn imu(&mut self, topic: &Topic<ImuSample>) -> Result<&mut Self, BridgeError> {
        self.topic_as(topic, &channel_of(topic), ImuState::from)
    }

    /// Bridges a line sensor's readings to a [`LineState`] channel named like the topic.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has that channel.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn line(&mut self, topic: &Topic<LineReading>) -> Result<&mut Self, BridgeError> {
        self.topic_as(topic, &channel_of(topic), LineState::from)
    }

    /// The E-stop's state ([`EStopState`]) on the channel `/estop`, every `every`.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has that channel.
    ///
    /// # Panics
    /// If `every` is zero; outside a tokio runtime.
    pub fn estop(&mut self, estop: &EStop, every: Duration) -> Result<&mut Self, BridgeError> {
        let estop = estop.clone();
        self.sample(ESTOP_CHANNEL, every, move || EStopState::of(&estop))
    }
}

/// The channel of the E-stop's state.
pub const ESTOP_CHANNEL: &str = "/estop";

fn channel_of<T: Clone + Send + 'static>(topic: &Topic<T>) -> String {
    crate::bridge::channel_name(topic.name())
}
