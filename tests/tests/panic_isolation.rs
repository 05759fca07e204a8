//! A panicking handler stops only its own actor; a told `Err` goes to the failure hook.

use compaktor::prelude::*;

struct Fragile {
    handled: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("motor stalled at {0}%")]
struct Stalled(u8);

#[actor]
impl Fragile {
    #[handler]
    fn explode(&mut self) -> u32 {
        panic!("sensor returned garbage");
    }

    #[handler]
    fn explode_quietly(&mut self) {
        panic!("quiet {}", 42);
    }

    #[handler]
    fn handled(&mut self) -> u32 {
        self.handled += 1;
        self.handled
    }

    #[handler]
    fn drive(&mut self, duty: u8) -> Result<(), Stalled> {
        if duty > 90 {
            Err(Stalled(duty))
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn the_asker_gets_panicked_and_the_actor_stops_with_the_message() {
    let system = ActorSystem::new("test");
    let fragile = system.spawn(Fragile { handled: 0 });
    let bystander = system.spawn(Fragile { handled: 0 });
    match fragile.explode().await {
        Err(AskError::Panicked {
            handler, message, ..
        }) => {
            assert_eq!(handler, "explode");
            assert_eq!(message, "sensor returned garbage");
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(
        fragile.stopped().await,
        StopReason::Panicked {
            handler: "explode",
            message: "sensor returned garbage".into()
        }
    );
    // Others are untouched, and so is the runtime.
    assert_eq!(bystander.handled().await.unwrap(), 1);
    let fresh = system.spawn(Fragile { handled: 0 });
    assert_eq!(fresh.handled().await.unwrap(), 1);
}

#[tokio::test]
async fn a_told_panic_stops_the_actor_with_a_formatted_message() {
    let system = ActorSystem::new("test");
    let fragile = system.spawn(Fragile { handled: 0 });
    fragile.explode_quietly().await.unwrap();
    assert!(matches!(
        fragile.stopped().await,
        StopReason::Panicked { message, .. } if message == "quiet 42"
    ));
}

#[tokio::test]
async fn a_told_error_stops_the_actor_by_default() {
    let system = ActorSystem::new("test");
    let fragile = system.spawn(Fragile { handled: 0 });
    fragile.drive(50).tell().await.unwrap();
    fragile.drive(95).tell().await.unwrap();
    assert_eq!(
        fragile.stopped().await,
        StopReason::Failed {
            handler: "drive",
            error: "motor stalled at 95%".into()
        }
    );
}

#[tokio::test]
async fn an_asked_error_goes_to_the_asker_not_the_failure_hook() {
    let system = ActorSystem::new("test");
    let fragile = system.spawn(Fragile { handled: 0 });
    assert!(matches!(
        fragile.drive(95).await,
        Err(AskError::Handler(Stalled(95)))
    ));
    assert_eq!(fragile.handled().await.unwrap(), 1);
}

struct Tolerant {
    failures: Vec<String>,
}

#[actor]
impl Tolerant {
    #[handler]
    fn drive(&mut self, duty: u8) -> Result<(), Stalled> {
        Err(Stalled(duty))
    }

    #[handler]
    fn failures(&self) -> Vec<String> {
        self.failures.clone()
    }

    #[on_failure]
    async fn failed(&mut self, failure: &HandlerFailure, ctx: &mut Context<Self>) -> FailureAction {
        assert_eq!(failure.error::<Stalled>().map(|s| s.0), Some(99));
        self.failures
            .push(format!("{} on {}", failure, ctx.name().unwrap_or("?")));
        FailureAction::Resume
    }
}

#[tokio::test]
async fn the_failure_hook_can_resume() {
    let system = ActorSystem::new("test");
    let tolerant = system
        .builder(Tolerant {
            failures: Vec::new(),
        })
        .name("wheel")
        .spawn()
        .expect("unique name");
    tolerant.drive(99).tell().await.unwrap();
    tolerant.drive(99).tell().await.unwrap();
    assert_eq!(
        tolerant.failures().await.unwrap(),
        [
            "handler `drive` failed: motor stalled at 99% on wheel",
            "handler `drive` failed: motor stalled at 99% on wheel"
        ]
    );
    assert!(tolerant.is_alive());
}

struct Careful {
    other: Option<ActorRef<Fragile>>,
}

#[actor]
impl Careful {
    /// Catches a panic itself, while an unsent ask (with its reply channel) is dropped by the
    /// unwinding: that is no panic of this actor, which keeps going.
    #[handler]
    fn survive(&mut self) -> &'static str {
        let other = self.other.clone().unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _unsent = other.handled();
            panic!("caught inside");
        }));
        assert!(caught.is_err());
        "survived"
    }

    #[handler]
    fn explode(&mut self) -> u8 {
        panic!("real panic");
    }
}

#[tokio::test]
async fn a_panic_caught_inside_a_handler_is_not_the_actors() {
    let system = ActorSystem::new("test");
    let other = system.spawn(Fragile { handled: 0 });
    let careful = system.spawn(Careful {
        other: Some(other.clone()),
    });
    assert_eq!(careful.survive().await.unwrap(), "survived");
    assert!(careful.is_alive());
    // The next real panic reaches its own asker with its own message.
    match careful.explode().await {
        Err(AskError::Panicked {
            message, handler, ..
        }) => {
            assert_eq!((handler, message.as_str()), ("explode", "real panic"));
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(other.handled().await.unwrap(), 1);
}

#[tokio::test]
async fn asks_queued_behind_a_panic_get_stopped_not_panicked() {
    let system = ActorSystem::new("test");
    let fragile = system.spawn(Fragile { handled: 0 });
    // Queue all three before the actor runs (current-thread test runtime).
    let first = fragile.explode().try_send().unwrap();
    let second = fragile.handled().try_send().unwrap();
    assert!(matches!(first.await, Err(AskError::Panicked { .. })));
    assert!(matches!(second.await, Err(AskError::Stopped { .. })));
}

/// An actor whose stop hook panics; its `Drop` (a motor's safe state) sets `dropped`.
struct BadStop {
    dropped: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for BadStop {
    fn drop(&mut self) {
        self.dropped
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[actor]
impl BadStop {
    #[handler]
    fn explode(&mut self) {
        panic!("handler blew up");
    }

    #[on_stop]
    fn stop(&mut self) {
        panic!("could not park the arm");
    }
}

#[tokio::test]
async fn a_panicking_stop_hook_is_reported_around_the_reason_it_had() {
    let system = ActorSystem::new("test");
    let dropped = std::sync::Arc::default();
    let actor = system.spawn(BadStop {
        dropped: std::sync::Arc::clone(&dropped),
    });
    actor.stop();
    let reason = actor.stopped().await;
    assert_eq!(
        reason,
        StopReason::StopHookPanicked {
            reason: Box::new(StopReason::Stopped),
            message: "could not park the arm".into(),
        }
    );
    assert!(reason.is_failure());
    assert_eq!(
        reason.to_string(),
        "stopped on request, then its stop hook panicked: could not park the arm"
    );
    assert!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        "the state was dropped all the same"
    );

    // After a handler's panic, the stop hook's panic wraps that one.
    let actor = system.spawn(BadStop {
        dropped: std::sync::Arc::default(),
    });
    actor.explode().await.unwrap();
    assert!(matches!(
        actor.stopped().await,
        StopReason::StopHookPanicked { reason, message }
            if matches!(*reason, StopReason::Panicked { handler: "explode", .. })
                && message == "could not park the arm"
    ));
}
