//! Actuators under supervision keep their safe state through restarts: a motor (or servo) whose
//! instance fails is at duty 0 (released) once that instance has ended, before its factory
//! opens the device again; the new instance starts at zero, not at the old speed; the same
//! `ActorRef` keeps working. A controller that dies takes its actuator children down with it,
//! at zero.
//!
//! The devices are the simulated world's pins behind a thin faulty driver that logs every call
//! (one log for all devices, in order) and panics on one chosen command *after* writing it to
//! the pins, so the failed instance leaves its output on. The motors have no watchdog here:
//! every zero is the safe state's doing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{Motor, MotorConfig, MotorEvent, SafeCause, Servo};
use compaktor_pi::device::{DeviceError, MotorDriver, ServoDriver};
use compaktor_pi::drivers::{self, L298n, ServoLimits};
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};
use futures::{FutureExt, StreamExt};

/// The speed at which the faulty motor driver panics (after driving the bridge at it).
const FAULT_SPEED: f32 = 0.7;
/// The pulse width at which the faulty servo driver panics (after sending it): 135°.
const FAULT_PULSE_US: u32 = 2_000;

// ---------------------------------------------------------------------------------------------
// A log of what happened to the devices, and faulty drivers on the simulated pins.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// A factory opened the device; its output was this (duty, or servo pulse) just before.
    Opened(&'static str, f64),
    SetSpeed(&'static str, f32),
    Coast(&'static str),
    Brake(&'static str),
    Pulse(&'static str, u32),
    Release(&'static str),
}

#[derive(Debug, Clone, Default)]
struct Log(Arc<Mutex<Vec<Entry>>>);

impl Log {
    fn push(&self, entry: Entry) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(entry);
    }

    fn entries(&self) -> Vec<Entry> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Where `entry` first occurs at or after `from`.
    #[track_caller]
    fn find(&self, from: usize, entry: &Entry) -> usize {
        let entries = self.entries();
        let at = entries[from..].iter().position(|e| e == entry);
        from + at.unwrap_or_else(|| panic!("no {entry:?} after #{from} in {entries:#?}"))
    }
}

/// An L298N on the world's `side` pins that panics when told [`FAULT_SPEED`], after driving it.
struct FaultyBridge {
    name: &'static str,
    bridge: Box<dyn MotorDriver>,
    log: Log,
}

impl FaultyBridge {
    /// Opens the bridge, logging the duty the pins had just before.
    fn open(world: &World, side: Side, name: &'static str, log: &Log) -> Self {
        log.push(Entry::Opened(name, duty(world, side)));
        let pins = world.motor_pins(side);
        FaultyBridge {
            name,
            bridge: Box::new(L298n::new(pins.in1, pins.in2, pins.enable).unwrap()),
            log: log.clone(),
        }
    }
}

impl MotorDriver for FaultyBridge {
    fn set_speed(&mut self, speed: f32) -> Result<(), DeviceError> {
        self.log.push(Entry::SetSpeed(self.name, speed));
        self.bridge.set_speed(speed)?;
        if speed == FAULT_SPEED {
            panic!("{} bridge fault at speed {speed}", self.name);
        }
        Ok(())
    }

    fn brake(&mut self) -> Result<(), DeviceError> {
        self.log.push(Entry::Brake(self.name));
        self.bridge.brake()
    }

    fn coast(&mut self) -> Result<(), DeviceError> {
        self.log.push(Entry::Coast(self.name));
        self.bridge.coast()
    }
}

/// The world's servo output that panics when sent [`FAULT_PULSE_US`], after sending it.
struct FaultyServo {
    servo: Box<dyn ServoDriver>,
    log: Log,
}

impl FaultyServo {
    fn open(world: &World, log: &Log) -> Self {
        log.push(Entry::Opened("servo", pulse(world)));
        FaultyServo {
            servo: Box::new(drivers::PwmServo::new(world.servo()).unwrap()),
            log: log.clone(),
        }
    }
}

impl ServoDriver for FaultyServo {
    fn set_pulse_width_us(&mut self, us: u32) -> Result<(), DeviceError> {
        self.log.push(Entry::Pulse("servo", us));
        self.servo.set_pulse_width_us(us)?;
        if us == FAULT_PULSE_US {
            panic!("servo fault at {us} µs");
        }
        Ok(())
    }

    fn release(&mut self) -> Result<(), DeviceError> {
        self.log.push(Entry::Release("servo"));
        self.servo.release()
    }
}

/// The enable pin's duty cycle, as the simulated L298N sees it.
fn duty(world: &World, side: Side) -> f64 {
    world.motor_pins(side).enable.fraction()
}

/// The servo's pulse width in µs, 0 while it gets no pulses.
fn pulse(world: &World) -> f64 {
    world.snapshot().servo_pulse_us.unwrap_or(0.0)
}

#[track_caller]
fn assert_duty(world: &World, side: Side, expected: f64) {
    let duty = duty(world, side);
    assert!(
        (duty - expected).abs() < 1e-6,
        "{side:?} duty {duty}, expected {expected}"
    );
}

// ---------------------------------------------------------------------------------------------
// The rig: a controller whose children are the actuators, each made by its factory.
// ---------------------------------------------------------------------------------------------

type Factory<A> = Box<dyn FnMut() -> A + Send>;

/// Everything a factory needs, shared by every instance it makes.
#[derive(Clone)]
struct Rig {
    world: World,
    estop: EStop,
    log: Log,
}

impl Rig {
    fn new() -> Self {
        Rig {
            world: World::new(WorldConfig::empty(4.0, 3.0)),
            estop: EStop::new(),
            log: Log::default(),
        }
    }

    /// Makes a motor on `side` each time it is called: the bridge is opened anew.
    fn motor(&self, side: Side, name: &'static str) -> Factory<Motor> {
        let rig = self.clone();
        Box::new(move || {
            let bridge = FaultyBridge::open(&rig.world, side, name, &rig.log);
            let config = MotorConfig {
                watchdog: None,
                ..MotorConfig::new(name)
            };
            Motor::new(Box::new(bridge), rig.estop.clone(), config)
        })
    }

    fn servo(&self) -> Factory<Servo> {
        let rig = self.clone();
        Box::new(move || {
            let driver = FaultyServo::open(&rig.world, &rig.log);
            Servo::new(
                "servo",
                Box::new(driver),
                ServoLimits::default(),
                rig.estop.clone(),
            )
        })
    }

    /// A controller with both drive motors and, if `servo`, the servo.
    fn controller(&self, servo: bool) -> Controller {
        Controller {
            motors: vec![
                ("left", self.motor(Side::Left, "left")),
                ("right", self.motor(Side::Right, "right")),
            ],
            servo: servo.then(|| self.servo()),
        }
    }
}

/// Supervises its actuators one-for-one; `crash` is a bug in it.
struct Controller {
    motors: Vec<(&'static str, Factory<Motor>)>,
    servo: Option<Factory<Servo>>,
}

#[actor]
impl Controller {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        ctx.supervise(Supervision::one_for_one());
        for (name, factory) in self.motors.drain(..) {
            ctx.child(factory).name(name).start().await?;
        }
        if let Some(factory) = self.servo.take() {
            ctx.child(factory).name("servo").start().await?;
        }
        Ok(())
    }

    #[handler]
    fn crash(&mut self) {
        panic!("controller bug");
    }

    #[handler]
    fn children(&self, ctx: &mut Context<Self>) -> usize {
        ctx.child_count()
    }
}

/// A top-level parent for a supervised controller, made again by `factory` after each failure.
struct Robot {
    drive: Option<Factory<Controller>>,
}

#[actor]
impl Robot {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        if let Some(factory) = self.drive.take() {
            ctx.child(factory).name("drive").start().await?;
        }
        Ok(())
    }
}

/// How `actor` ended; a test failure, not a hang, if it does not end (time is paused, so the
/// timeout costs nothing).
async fn stopped<A: Actor>(actor: &ActorRef<A>) -> StopReason {
    tokio::time::timeout(Duration::from_secs(60), actor.stopped())
        .await
        .unwrap_or_else(|_| panic!("{} did not stop", actor.label()))
}

fn lookup<A: Actor>(system: &ActorSystem, path: &str) -> ActorRef<A> {
    system
        .try_lookup::<A>(path)
        .unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------------------------
// A failed actuator restarts from zero.
// ---------------------------------------------------------------------------------------------

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
async fn a_failed_motor_is_at_zero_before_its_restart_and_restarts_at_zero() {
    let rig = Rig::new();
    let system = ActorSystem::new("restart");
    let _controller = system
        .builder(rig.controller(false))
        .name("controller")
        .start()
        .await
        .unwrap();
    let left = lookup::<Motor>(&system, "/controller/left");
    let right = lookup::<Motor>(&system, "/controller/right");
    let events = left.topic().await.unwrap().stream();

    left.set_speed(0.6).await.unwrap();
    right.set_speed(0.4).await.unwrap();
    assert_duty(&rig.world, Side::Left, 0.6);
    let fault_at = rig.log.entries().len();

    // The driver drives the bridge at 0.7, then panics: the instance dies with its output on.
    let crashed = left.set_speed(FAULT_SPEED).await;
    assert!(
        matches!(&crashed, Err(AskError::Panicked { handler: "set_speed", message, .. })
            if message.contains("left bridge fault")),
        "{crashed:?}"
    );

    // The old instance's last word, when it ended: the safe state, and why.
    let events = until_stopping(events).await;
    let reason = StopReason::Panicked {
        handler: "set_speed",
        message: format!("left bridge fault at speed {FAULT_SPEED}"),
    };
    assert_eq!(
        events,
        [
            MotorEvent::Speed(0.6),
            MotorEvent::SafeState(SafeCause::Stopping(reason.to_string())),
        ]
    );

    // Same ref, new instance: it answers, at zero, not at the old 0.6 or 0.7.
    assert_eq!(left.speed().await.unwrap(), 0.0);
    assert_duty(&rig.world, Side::Left, 0.0);

    // In order: the faulty write, then the bridge cut (stop hook, drop), and only then the
    // factory opens it again, finding it at duty 0; the new instance's start coasts it too.
    let log = &rig.log;
    let fault = log.find(fault_at, &Entry::SetSpeed("left", FAULT_SPEED));
    let cut = log.find(fault, &Entry::Coast("left"));
    let reopened = log.find(fault, &Entry::Opened("left", 0.0));
    assert!(cut < reopened, "{:#?}", log.entries());
    let after = &log.entries()[fault + 1..];
    assert!(
        !after
            .iter()
            .any(|e| matches!(e, Entry::SetSpeed("left", _))),
        "nothing drove the left motor after the fault: {after:#?}"
    );
    let opened = |name| {
        log.entries()
            .iter()
            .filter(|e| matches!(e, Entry::Opened(n, _) if *n == name))
            .count()
    };
    assert_eq!((opened("left"), opened("right")), (2, 1));

    // The right motor, its sibling, was not touched: one-for-one.
    assert_duty(&rig.world, Side::Right, 0.4);
    assert_eq!(right.speed().await.unwrap(), 0.4);

    // The same ref drives the new instance, which is registered with the E-stop once.
    left.set_speed(0.3).await.unwrap();
    assert_duty(&rig.world, Side::Left, 0.3);
    let mut actuators = rig.estop.actuators();
    actuators.sort();
    assert_eq!(actuators, ["left", "right"]);
    assert!(rig.estop.trigger("test").all_safe());
    assert_duty(&rig.world, Side::Left, 0.0);
    assert_duty(&rig.world, Side::Right, 0.0);
}

#[tokio::test(start_paused = true)]
async fn a_motor_restarted_again_and_again_always_restarts_at_zero() {
    let rig = Rig::new();
    let system = ActorSystem::new("restart");
    let controller = system
        .builder(rig.controller(false))
        .name("controller")
        .start()
        .await
        .unwrap();
    let left = lookup::<Motor>(&system, "/controller/left");
    let right = lookup::<Motor>(&system, "/controller/right");
    right.set_speed(0.4).await.unwrap();

    // The default limit: 3 restarts within 5 s.
    for _ in 0..3 {
        left.set_speed(-0.5).await.unwrap();
        assert_duty(&rig.world, Side::Left, 0.5);
        let crashed = left.set_speed(FAULT_SPEED).await;
        assert!(matches!(crashed, Err(AskError::Panicked { .. })));
        assert_eq!(left.speed().await.unwrap(), 0.0);
        assert_duty(&rig.world, Side::Left, 0.0);
    }
    let reopened_at_zero = rig
        .log
        .entries()
        .iter()
        .filter(|e| **e == Entry::Opened("left", 0.0))
        .count();
    assert_eq!(reopened_at_zero, 4, "{:#?}", rig.log.entries());

    // A fourth failure is past the limit: the motor stays down, at zero, and the controller
    // fails (escalates), stopping its other motor too.
    left.set_speed(0.5).await.unwrap();
    let _ = left.set_speed(FAULT_SPEED).await;
    assert!(matches!(
        stopped(&controller).await,
        StopReason::Escalated { .. }
    ));
    assert!(matches!(stopped(&left).await, StopReason::Panicked { .. }));
    assert_eq!(stopped(&right).await, StopReason::Stopped);
    assert_duty(&rig.world, Side::Left, 0.0);
    assert_duty(&rig.world, Side::Right, 0.0);
    assert!(
        rig.estop.actuators().is_empty(),
        "{:?}",
        rig.estop.actuators()
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_servo_is_released_before_its_restart_and_restarts_released() {
    let rig = Rig::new();
    let system = ActorSystem::new("restart");
    let _controller = system
        .builder(rig.controller(true))
        .name("controller")
        .start()
        .await
        .unwrap();
    let servo = lookup::<Servo>(&system, "/controller/servo");

    servo.set_angle(90.0).await.unwrap();
    assert_eq!(rig.world.snapshot().servo_pulse_us, Some(1_500.0));
    let fault_at = rig.log.entries().len();

    // 135° is 2000 µs: sent, then the driver panics.
    let crashed = servo.set_angle(135.0).await;
    assert!(
        matches!(
            &crashed,
            Err(AskError::Panicked {
                handler: "set_angle",
                ..
            })
        ),
        "{crashed:?}"
    );

    // Same ref, new instance: no angle, no pulses.
    assert_eq!(servo.angle().await.unwrap(), None);
    assert_eq!(rig.world.snapshot().servo_pulse_us, None);
    let log = &rig.log;
    let fault = log.find(fault_at, &Entry::Pulse("servo", FAULT_PULSE_US));
    let released = log.find(fault, &Entry::Release("servo"));
    let reopened = log.find(fault, &Entry::Opened("servo", 0.0));
    assert!(released < reopened, "{:#?}", log.entries());

    servo.set_angle(45.0).await.unwrap();
    assert_eq!(rig.world.snapshot().servo_pulse_us, Some(1_000.0));
    let mut actuators = rig.estop.actuators();
    actuators.sort();
    assert_eq!(actuators, ["left", "right", "servo"]);
}

// ---------------------------------------------------------------------------------------------
// A controller that dies takes its actuators down, at zero.
// ---------------------------------------------------------------------------------------------

/// Starts a controller with both motors and the servo, drives them all, ends the controller
/// with `end`, and checks that its actuators had stopped, at zero, by the time it had. Returns
/// its stop reason and where the log was when it was ended.
async fn drive_then_end_the_controller(
    end: impl FnOnce(&ActorRef<Controller>),
) -> (StopReason, Log, usize) {
    let rig = Rig::new();
    let system = ActorSystem::new("restart");
    let controller = system
        .builder(rig.controller(true))
        .name("controller")
        .start()
        .await
        .unwrap();
    let left = lookup::<Motor>(&system, "/controller/left");
    let right = lookup::<Motor>(&system, "/controller/right");
    let servo = lookup::<Servo>(&system, "/controller/servo");
    left.set_speed(0.5).await.unwrap();
    right.set_speed(-0.4).await.unwrap();
    servo.set_angle(90.0).await.unwrap();
    assert_duty(&rig.world, Side::Left, 0.5);
    assert_duty(&rig.world, Side::Right, 0.4);
    let ended_at = rig.log.entries().len();

    end(&controller);
    let reason = stopped(&controller).await;

    // Its children ended before it did: nothing to wait for.
    for (child, stopped) in [
        ("left", left.stopped().now_or_never()),
        ("right", right.stopped().now_or_never()),
        ("servo", servo.stopped().now_or_never()),
    ] {
        assert!(stopped.is_some(), "{child} still running after its parent");
    }
    assert_duty(&rig.world, Side::Left, 0.0);
    assert_duty(&rig.world, Side::Right, 0.0);
    assert_eq!(rig.world.snapshot().servo_pulse_us, None);
    assert!(
        rig.estop.actuators().is_empty(),
        "{:?}",
        rig.estop.actuators()
    );
    assert!(matches!(
        left.set_speed(0.5).await,
        Err(AskError::Stopped { .. })
    ));

    let reopened = rig.log.entries()[ended_at..]
        .iter()
        .filter(|e| matches!(e, Entry::Opened(..)))
        .count();
    assert_eq!(reopened, 0, "a stopped parent's children are not restarted");
    (reason, rig.log, ended_at)
}

#[tokio::test(start_paused = true)]
async fn a_panicking_controller_stops_its_motors_at_zero_in_reverse_start_order() {
    let (reason, log, ended_at) = drive_then_end_the_controller(|c| {
        c.crash().try_send().unwrap();
    })
    .await;
    assert!(
        matches!(
            reason,
            StopReason::Panicked {
                handler: "crash",
                ..
            }
        ),
        "{reason:?}"
    );
    // Stopped one by one, the last started first: the servo, the right motor, the left.
    let servo = log.find(ended_at, &Entry::Release("servo"));
    let right = log.find(ended_at, &Entry::Coast("right"));
    let left = log.find(ended_at, &Entry::Coast("left"));
    assert!(servo < right && right < left, "{:#?}", log.entries());
}

#[tokio::test(start_paused = true)]
async fn a_killed_controller_stops_its_motors_at_zero() {
    // Killed, its children are killed all at once: no order to check.
    let (reason, ..) = drive_then_end_the_controller(|c| c.kill()).await;
    assert_eq!(reason, StopReason::Killed);
}

#[tokio::test(start_paused = true)]
async fn a_restarted_controller_cuts_its_old_motors_and_starts_new_ones_at_zero() {
    let rig = Rig::new();
    let system = ActorSystem::new("restart");
    let make = {
        let rig = rig.clone();
        Box::new(move || rig.controller(false))
    };
    let _robot = system
        .builder(Robot { drive: Some(make) })
        .name("robot")
        .start()
        .await
        .unwrap();
    let drive = lookup::<Controller>(&system, "/robot/drive");
    let left = lookup::<Motor>(&system, "/robot/drive/left");
    left.set_speed(0.5).await.unwrap();
    assert_duty(&rig.world, Side::Left, 0.5);

    // The controller panics: its motors stop with it, at zero. Its supervisor restarts it, and
    // the new instance's start hook spawns new motors.
    drive.crash().try_send().unwrap();
    let old = stopped(&left).await;
    assert_eq!(old, StopReason::Stopped, "stopped by its failing parent");
    assert_duty(&rig.world, Side::Left, 0.0);

    // The same ref reaches the new controller; by the time it answers, it has started its new
    // motors, and the old left motor's path belongs to a new actor.
    assert_eq!(drive.children().await.unwrap(), 2);
    let new_left = lookup::<Motor>(&system, "/robot/drive/left");
    assert_ne!(new_left.id(), left.id());
    assert_eq!(new_left.speed().await.unwrap(), 0.0);
    assert_duty(&rig.world, Side::Left, 0.0);
    let opened: Vec<Entry> = rig
        .log
        .entries()
        .into_iter()
        .filter(|e| matches!(e, Entry::Opened("left", _)))
        .collect();
    assert_eq!(
        opened,
        [Entry::Opened("left", 0.0), Entry::Opened("left", 0.0)],
        "the new bridge was opened at duty 0"
    );
    new_left.set_speed(0.2).await.unwrap();
    assert_duty(&rig.world, Side::Left, 0.2);
    assert!(matches!(
        left.set_speed(0.5).await,
        Err(AskError::Stopped { .. })
    ));
}
