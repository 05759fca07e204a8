//! Every hook, each taking the context, and handlers taking it first, last or in the middle.
#![deny(warnings)]
use std::sync::{Arc, Mutex};

use compaktor::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("overheated at {0} degrees")]
struct Overheated(u32);

struct Motor {
    log: Arc<Mutex<Vec<String>>>,
    speed: u32,
}

impl Motor {
    fn note(&self, line: impl Into<String>) {
        self.log.lock().unwrap().push(line.into());
    }
}

#[actor]
impl Motor {
    #[on_start]
    async fn power_up(&mut self, ctx: &mut Context<Self>) -> Result<(), Overheated> {
        self.note(format!("start {}", ctx.name().unwrap_or("?")));
        Ok(())
    }

    #[on_stop]
    fn power_down(&mut self, ctx: &mut Context<Self>, reason: &StopReason) {
        let _ = ctx.id();
        self.note(format!("stop: {reason}"));
    }

    #[on_failure]
    async fn recover(
        &mut self,
        failure: &HandlerFailure,
        ctx: &mut Context<Self>,
    ) -> FailureAction {
        let _ = ctx.id();
        self.note(format!("failed: {failure}"));
        self.speed = 0;
        FailureAction::Resume
    }

    #[on_restart]
    fn restarted(&mut self, info: &RestartInfo, ctx: &mut Context<Self>) {
        let _ = ctx.restart_count();
        self.note(format!("restart {}: {}", info.count, info.reason));
    }

    #[handler]
    fn set_speed(&mut self, ctx: &mut Context<Self>, speed: u32) {
        let _ = ctx.id();
        self.speed = speed;
    }

    #[handler]
    async fn heat(
        &mut self,
        degrees: u32,
        ctx: &mut Context<Motor>,
        limit: u32,
    ) -> Result<(), Overheated> {
        let _ = ctx.id();
        if degrees > limit {
            Err(Overheated(degrees))
        } else {
            Ok(())
        }
    }

    #[handler]
    fn speed(&self) -> u32 {
        self.speed
    }

    #[handler]
    fn shut_down(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let system = ActorSystem::new("hooks");
    let motor = system
        .builder(Motor {
            log: log.clone(),
            speed: 0,
        })
        .name("left")
        .start()
        .await
        .unwrap();
    motor.set_speed(5).await.unwrap();
    assert_eq!(motor.speed().await.unwrap(), 5);
    // Asked: the `Err` goes to the asker, the actor runs on.
    assert!(matches!(
        motor.heat(90, 80).await,
        Err(AskError::Handler(Overheated(90)))
    ));
    // Told: the failure hook resumes.
    motor.heat(90, 80).tell().await.unwrap();
    assert_eq!(motor.speed().await.unwrap(), 0);
    motor.shut_down().await.unwrap();
    assert_eq!(motor.stopped().await, StopReason::Stopped);
    let log = log.lock().unwrap();
    assert_eq!(log.first().map(String::as_str), Some("start left"));
    assert!(log.iter().any(|l| l.starts_with("failed: ")), "{log:?}");
    assert!(log.last().unwrap().starts_with("stop: "), "{log:?}");
}
