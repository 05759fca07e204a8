//! A motor's safe state (duty 0, coasting) always runs: on `stop()`, on `kill()`, after a
//! handler panic, when its last ref is dropped, after a failed start, and when the `Motor` value
//! is dropped without ever running. Each test drives the motor first, so "duty 0 at the end" is
//! the safe state's doing.
//!
//! Restart (the actor's state rebuilt by a supervisor) is tested in `restart_safe_state.rs`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use compaktor::SpawnError;
use compaktor::prelude::*;
use compaktor_pi::actors::{Motor, MotorConfig, MotorEvent, SafeCause};
use compaktor_pi::device::{DeviceError, MotorDriver};
use compaktor_pi::drivers::L298n;
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};
use futures::StreamExt;

// ---------------------------------------------------------------------------------------------
// A recording bridge: every call in order, the duty it would drive, and faults on demand.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Call {
    SetSpeed(f32),
    Brake,
    Coast,
}

#[derive(Debug, Default)]
struct BridgeState {
    calls: Vec<Call>,
    duty: f32,
    /// `set_speed` with exactly this speed panics (a driver bug, a bus fault).
    panic_on: Option<f32>,
    /// The next this many `coast` calls fail.
    failing_coasts: u32,
}

#[derive(Debug, Clone, Default)]
struct MockBridge(Arc<Mutex<BridgeState>>);

impl MockBridge {
    fn state(&self) -> MutexGuard<'_, BridgeState> {
        // The panic below happens after the guard is dropped, but be tolerant anyway.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    fn duty(&self) -> f32 {
        self.state().duty
    }
}

impl MotorDriver for MockBridge {
    fn set_speed(&mut self, speed: f32) -> Result<(), DeviceError> {
        let panics = {
            let mut s = self.state();
            s.calls.push(Call::SetSpeed(speed));
            let panics = s.panic_on == Some(speed);
            if !panics {
                s.duty = speed;
            }
            panics
        };
        if panics {
            panic!("bridge fault at speed {speed}");
        }
        Ok(())
    }

    fn brake(&mut self) -> Result<(), DeviceError> {
        let mut s = self.state();
        s.calls.push(Call::Brake);
        s.duty = 0.0;
        Ok(())
    }

    fn coast(&mut self) -> Result<(), DeviceError> {
        let mut s = self.state();
        s.calls.push(Call::Coast);
        if s.failing_coasts > 0 {
            s.failing_coasts -= 1;
            return Err(DeviceError::Pin("ENA stuck high".into()));
        }
        s.duty = 0.0;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers on the simulated L298N.
// ---------------------------------------------------------------------------------------------

fn sim_motor(world: &World, side: Side, estop: &EStop) -> Motor {
    let pins = world.motor_pins(side);
    let bridge = L298n::new(pins.in1, pins.in2, pins.enable).unwrap();
    Motor::new(Box::new(bridge), estop.clone(), MotorConfig::new("left"))
}

/// The enable pin's duty cycle, as the simulated L298N sees it.
fn duty(world: &World, side: Side) -> f64 {
    world.motor_pins(side).enable.fraction()
}

#[track_caller]
fn assert_duty(world: &World, side: Side, expected: f64) {
    let duty = duty(world, side);
    assert!(
        (duty - expected).abs() < 1e-6,
        "duty {duty}, expected {expected}"
    );
}

/// Starts a motor on the left sim channel, drives it at 0.6, ends it with `end`, and checks the
/// stop reason, the duty, the events and the E-stop registration.
async fn drive_then_end(end: impl FnOnce(ActorRef<Motor>), expected: StopReason) {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("safe-state");
    let estop = EStop::new();
    let motor = system
        .start(sim_motor(&world, Side::Left, &estop))
        .await
        .unwrap();
    assert_eq!(estop.actuators(), ["left"]);
    let events = motor.topic().await.unwrap().stream();

    motor.set_speed(0.6).await.unwrap();
    assert_duty(&world, Side::Left, 0.6);

    let stopped = motor.stopped();
    end(motor);
    assert_eq!(stopped.await, expected);

    assert_duty(&world, Side::Left, 0.0);
    // Its last word is the safe state and why.
    let events = until_stopping(events).await;
    assert_eq!(
        events,
        [
            MotorEvent::Speed(0.6),
            MotorEvent::SafeState(SafeCause::Stopping(expected.to_string())),
        ]
    );
    assert!(estop.actuators().is_empty(), "{:?}", estop.actuators());
}

/// The events up to and including the motor's safe state on stopping (its last word).
async fn until_stopping(mut events: compaktor::TopicStream<MotorEvent>) -> Vec<MotorEvent> {
    let mut seen = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("the stopping motor's safe state in time")
    {
        let last = matches!(event, MotorEvent::SafeState(SafeCause::Stopping(_)));
        seen.push(event);
        if last {
            break;
        }
    }
    seen
}

#[tokio::test(start_paused = true)]
async fn stop_coasts_the_motor() {
    drive_then_end(|motor| motor.stop(), StopReason::Stopped).await;
}

#[tokio::test(start_paused = true)]
async fn kill_coasts_the_motor() {
    drive_then_end(|motor| motor.kill(), StopReason::Killed).await;
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_ref_coasts_the_motor() {
    drive_then_end(drop, StopReason::Released).await;
}

#[tokio::test(start_paused = true)]
async fn a_panicking_driver_still_ends_in_the_safe_state() {
    let bridge = MockBridge::default();
    bridge.state().panic_on = Some(0.7);
    let system = ActorSystem::new("safe-state");
    let motor = system
        .start(Motor::new(
            Box::new(bridge.clone()),
            EStop::new(),
            MotorConfig::new("left"),
        ))
        .await
        .unwrap();
    let events = motor.topic().await.unwrap().stream();

    motor.set_speed(0.6).await.unwrap();
    assert_eq!(bridge.duty(), 0.6);

    // The driver panics while the motor holds its lock: the actor dies with a poisoned mutex,
    // and its stop hook and drop must get through it anyway.
    let asked = motor.set_speed(0.7).await;
    assert!(
        matches!(&asked, Err(AskError::Panicked { handler: "set_speed", message, .. })
            if message.contains("bridge fault")),
        "{asked:?}"
    );
    let reason = motor.stopped().await;
    assert!(
        matches!(
            &reason,
            StopReason::Panicked {
                handler: "set_speed",
                ..
            }
        ),
        "{reason:?}"
    );

    assert_eq!(bridge.duty(), 0.0);
    let calls = bridge.calls();
    assert_eq!(calls.last(), Some(&Call::Coast), "{calls:?}");
    let after_panic = calls
        .iter()
        .position(|c| *c == Call::SetSpeed(0.7))
        .unwrap();
    assert!(calls[after_panic..].contains(&Call::Coast), "{calls:?}");

    let events = until_stopping(events).await;
    assert_eq!(
        events.last(),
        Some(&MotorEvent::SafeState(SafeCause::Stopping(
            reason.to_string()
        )))
    );
}

#[test]
fn dropping_a_motor_that_never_ran_coasts_it() {
    // With a recording bridge: the only call is the coast of the drop.
    let bridge = MockBridge::default();
    bridge.state().duty = 0.6; // left driving by whoever had the bridge before
    drop(Motor::new(
        Box::new(bridge.clone()),
        EStop::new(),
        MotorConfig::new("left"),
    ));
    assert_eq!(bridge.calls(), [Call::Coast]);
    assert_eq!(bridge.duty(), 0.0);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_motor_that_never_ran_cuts_the_sim_duty() {
    // No runtime work at all: the value is built and dropped.
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let pins = world.motor_pins(Side::Right);
    let mut bridge = L298n::new(pins.in1, pins.in2, pins.enable).unwrap();
    bridge.set_speed(0.6).unwrap();
    assert_duty(&world, Side::Right, 0.6);
    drop(Motor::new(
        Box::new(bridge),
        EStop::new(),
        MotorConfig::new("right"),
    ));
    assert_duty(&world, Side::Right, 0.0);
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_is_reported_and_coasts() {
    let bridge = MockBridge::default();
    {
        let mut s = bridge.state();
        s.duty = 0.6;
        s.failing_coasts = 1; // the start hook's coast fails
    }
    let system = ActorSystem::new("safe-state");
    let estop = EStop::new();
    let started = system
        .start(Motor::new(
            Box::new(bridge.clone()),
            estop.clone(),
            MotorConfig::new("left"),
        ))
        .await;
    let Err(SpawnError::StartFailed { error, .. }) = started else {
        panic!("the start must fail: {started:?}");
    };
    assert!(error.to_string().contains("ENA stuck high"), "{error}");
    assert!(estop.actuators().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_still_ends_at_duty_zero() {
    let bridge = MockBridge::default();
    {
        let mut s = bridge.state();
        s.duty = 0.6;
        s.failing_coasts = 1;
    }
    let system = ActorSystem::new("safe-state");
    let motor = system.spawn(Motor::new(
        Box::new(bridge.clone()),
        EStop::new(),
        MotorConfig::new("left"),
    ));
    let reason = motor.stopped().await; // resolves after the actor value was dropped
    assert!(
        matches!(&reason, StopReason::StartFailed(e) if e.to_string().contains("ENA stuck high"))
    );
    // The start hook's coast failed; the drop's coast is the last call and got through.
    assert_eq!(bridge.calls(), [Call::Coast, Call::Coast]);
    assert_eq!(bridge.duty(), 0.0);
    // A command to it is refused, and the bridge is not touched.
    assert!(matches!(
        motor.set_speed(0.5).await,
        Err(AskError::Stopped { .. })
    ));
    assert_eq!(bridge.calls().len(), 2);
}
