//! The simulated world as channels, so a recorded run can be reviewed against the truth: the
//! robot's true pose, the transform that places [`ROBOT_FRAME`](crate::robot::ROBOT_FRAME) in
//! the arena, and the arena itself (walls and obstacles, as a scene).

use std::time::Duration;

use compaktor_pi::sim::{Obstacle, World};
use foxglove::messages::{
    Color, CubePrimitive, CylinderPrimitive, FrameTransform, PoseInFrame, SceneEntity, SceneUpdate,
    Vector3,
};

use crate::robot::{ROBOT_FRAME, planar_pose, yaw};
use crate::{Bridge, BridgeError, RobotClock};

/// The frame of the arena: its bottom-left corner, x to the right, y up, in meters.
pub const ARENA_FRAME: &str = "arena";
/// The channel of the robot's true pose (in [`ARENA_FRAME`]).
pub const TRUE_POSE_CHANNEL: &str = "/sim/true_pose";
/// The channel of the transform from [`ARENA_FRAME`] to the robot's frame.
pub const TRANSFORM_CHANNEL: &str = "/sim/robot_frame";
/// The channel of the arena's walls and obstacles.
pub const ARENA_CHANNEL: &str = "/sim/arena";

/// How tall walls and obstacles are drawn, in meters.
const HEIGHT: f64 = 0.2;
/// How thick walls are drawn, in meters.
const WALL: f64 = 0.05;

impl Bridge {
    /// Bridges the simulated `world`: the robot's true pose ([`TRUE_POSE_CHANNEL`]) and its
    /// frame in the arena ([`TRANSFORM_CHANNEL`]) every `every`, and the arena
    /// ([`ARENA_CHANNEL`]) once a second (so a live viewer who connects later sees it too).
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has one of those channels.
    ///
    /// # Panics
    /// If `every` is zero; outside a tokio runtime.
    pub fn simulation(&mut self, world: &World, every: Duration) -> Result<&mut Self, BridgeError> {
        let clock = self.clock();
        let w = world.clone();
        self.sample(TRUE_POSE_CHANNEL, every, move || true_pose(&w, &clock))?;
        let w = world.clone();
        self.sample(TRANSFORM_CHANNEL, every, move || robot_frame(&w, &clock))?;
        let w = world.clone();
        self.sample(ARENA_CHANNEL, Duration::from_secs(1), move || arena(&w))
    }
}

/// Where the robot truly is, in [`ARENA_FRAME`].
pub fn true_pose(world: &World, clock: &RobotClock) -> PoseInFrame {
    let pose = world.snapshot().pose;
    PoseInFrame {
        timestamp: Some(crate::clock::timestamp(clock.now_nanos())),
        frame_id: ARENA_FRAME.into(),
        pose: Some(planar_pose(pose.x, pose.y, pose.heading)),
    }
}

/// The robot's frame in the arena, at its true pose.
pub fn robot_frame(world: &World, clock: &RobotClock) -> FrameTransform {
    let pose = world.snapshot().pose;
    FrameTransform {
        timestamp: Some(crate::clock::timestamp(clock.now_nanos())),
        parent_frame_id: ARENA_FRAME.into(),
        child_frame_id: ROBOT_FRAME.into(),
        translation: Some(Vector3 {
            x: pose.x,
            y: pose.y,
            z: 0.0,
        }),
        rotation: Some(yaw(pose.heading)),
    }
}

/// The arena as a scene: four walls and every obstacle, in [`ARENA_FRAME`].
pub fn arena(world: &World) -> SceneUpdate {
    let config = world.config();
    let (w, h) = (config.width, config.height);
    let grey = Color {
        r: 0.6,
        g: 0.6,
        b: 0.6,
        a: 1.0,
    };
    let orange = Color {
        r: 0.9,
        g: 0.5,
        b: 0.1,
        a: 1.0,
    };
    let cube = |x: f64, y: f64, sx: f64, sy: f64, color: &Color| CubePrimitive {
        pose: Some(planar_pose(x, y, 0.0)),
        size: Some(Vector3 {
            x: sx,
            y: sy,
            z: HEIGHT,
        }),
        color: Some(*color),
    };
    let mut cubes = vec![
        cube(w / 2.0, 0.0, w, WALL, &grey),
        cube(w / 2.0, h, w, WALL, &grey),
        cube(0.0, h / 2.0, WALL, h, &grey),
        cube(w, h / 2.0, WALL, h, &grey),
    ];
    let mut cylinders = Vec::new();
    for obstacle in &config.obstacles {
        match *obstacle {
            Obstacle::Circle { center, radius } => cylinders.push(CylinderPrimitive {
                pose: Some(planar_pose(center.x, center.y, 0.0)),
                size: Some(Vector3 {
                    x: 2.0 * radius,
                    y: 2.0 * radius,
                    z: HEIGHT,
                }),
                bottom_scale: 1.0,
                top_scale: 1.0,
                color: Some(orange),
            }),
            Obstacle::Rect { min, max } => cubes.push(cube(
                (min.x + max.x) / 2.0,
                (min.y + max.y) / 2.0,
                max.x - min.x,
                max.y - min.y,
                &orange,
            )),
        }
    }
    SceneUpdate {
        deletions: Vec::new(),
        entities: vec![SceneEntity {
            frame_id: ARENA_FRAME.into(),
            id: "arena".into(),
            cubes,
            cylinders,
            ..SceneEntity::default()
        }],
    }
}
