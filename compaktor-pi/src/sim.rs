//! The simulated robot and its world — the default backend, so firmware runs on a laptop and in
//! tests. Here live a 2-D arena with walls, obstacles and an optional line track
//! ([`WorldConfig`], with ready scenarios), the running [`World`] with a differential-drive
//! robot in it, the physics task that moves it on tokio's clock ([`World::start`]), and the pins
//! and buses bound to it — [`SimOutputPin`], [`SimPwm`], [`SimInputPin`], [`SimEdgeInput`],
//! [`SimI2c`] (an MPU-6050, PCA9685 PWM boards, an INA219 on a battery that drains as the
//! motors drive), [`SimSpi`] (an MCP3008) — which implement the embedded-hal 1.0
//! traits and [`crate::hal`]'s, so the drivers in [`crate::drivers`] run on them unchanged. Runs
//! are scored ([`Stats`]) and drawn ([`World::to_svg`]).
//!
//! Time is tokio's: under `#[tokio::test(start_paused = true)]` a run is deterministic and as
//! fast as the CPU allows. Every random thing comes from the config's seed. Real hardware
//! backends are not here (`backend::rppal`, `backend::linux`).
//!
//! # Examples
//!
//! Drive straight for two seconds and look at the result:
//!
//! ```
//! use std::time::Duration;
//!
//! use compaktor_pi::sim::{Side, World, WorldConfig};
//! use embedded_hal::digital::OutputPin;
//! use embedded_hal::pwm::SetDutyCycle;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let world = World::new(WorldConfig::arena(42));
//! let _physics = world.start();
//! for side in [Side::Left, Side::Right] {
//!     let mut motor = world.motor_pins(side);
//!     motor.in1.set_high().unwrap();
//!     motor.enable.set_duty_cycle_percent(50).unwrap();
//! }
//! tokio::time::sleep(Duration::from_secs(2)).await;
//! let snapshot = world.snapshot();
//! println!("{:.2} m in {:?}", snapshot.stats.distance, snapshot.time);
//! assert!(world.to_svg().starts_with("<svg"));
//! # }
//! ```

mod bus;
mod config;
mod geometry;
mod ina219;
mod lines;
mod mcp3008;
mod mpu6050;
mod pca9685;
mod physics;
mod pins;
mod render;
mod sensors;
mod stats;
mod track;
mod ultrasonic;
mod world;

pub use bus::BusError;
pub use config::{
    BatteryModel, BumperMount, ButtonMount, EncoderPins, ImuModel, LedMount, LineSensorModel,
    RobotModel, ServoMount, SonarModel, SonarMount, Wiring, WorldConfig,
};
pub use geometry::{Obstacle, Point, Pose};
pub use mcp3008::SimSpi;
pub use mpu6050::SimI2c;
pub use physics::{PhysicsHandle, STEP};
pub use pins::{ButtonPresser, PinError, SimEdgeInput, SimInputPin, SimOutputPin, SimPwm};
#[cfg(feature = "png")]
pub use render::PngError;
pub use stats::{CELL_SIZE, Stats};
pub use track::LineTrack;
pub use ultrasonic::SPEED_OF_SOUND;
pub use world::{BatteryState, MotorPins, PathPoint, Side, Snapshot, World};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<World>();
        send_sync::<SimOutputPin>();
        send_sync::<SimPwm>();
        send_sync::<SimInputPin>();
        send_sync::<SimEdgeInput>();
        send_sync::<ButtonPresser>();
        send_sync::<SimI2c>();
        send_sync::<SimSpi>();
        send_sync::<MotorPins>();
        send::<PhysicsHandle>();
    }

    /// Runs `seed`'s arena with a fixed drive pattern and ultrasonic pings.
    async fn run(seed: u64) -> (Snapshot, Vec<std::time::Duration>) {
        use embedded_hal::digital::OutputPin;
        use embedded_hal::pwm::SetDutyCycle;

        use crate::hal::EdgeInput;

        let world = World::new(WorldConfig::arena(seed));
        let _physics = world.start();
        let mut left = world.motor_pins(Side::Left);
        left.in1.set_high().unwrap();
        left.enable.set_duty_cycle_percent(70).unwrap();
        let mut right = world.motor_pins(Side::Right);
        right.in1.set_high().unwrap();
        right.enable.set_duty_cycle_percent(50).unwrap();
        let (mut trigger, mut echo) = world.ultrasonic();
        let mut widths = Vec::new();
        for _ in 0..40 {
            trigger.set_high().unwrap();
            tokio::time::sleep(std::time::Duration::from_micros(10)).await;
            trigger.set_low().unwrap();
            let rise = echo.wait_for_edge().await.unwrap();
            let fall = echo.wait_for_edge().await.unwrap();
            widths.push(fall.at - rise.at);
            tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        }
        (world.snapshot(), widths)
    }

    #[tokio::test(start_paused = true)]
    async fn same_seed_same_run() {
        let a = run(9).await;
        assert_eq!(a, run(9).await);
        assert_ne!(a.1, run(10).await.1);
    }
}
