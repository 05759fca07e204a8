//! `ActorSystem::on_shutdown`: the steps run when the shutdown begins, before any actor is told
//! to stop (a robot's E-stop), in registration order and once; a step that panics is reported
//! and the rest of the shutdown still runs. `ShutdownReport::ended` lists the top-level actors
//! in the order they ended.

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_tests::Log;

struct Part {
    name: &'static str,
    log: Log,
}

#[actor]
impl Part {
    #[handler]
    async fn hang(&mut self) {
        std::future::pending::<()>().await;
    }

    #[on_stop]
    fn stopped(&mut self) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{} stopped", self.name));
    }
}

fn step(log: &Log, name: &'static str) -> impl FnOnce() + Send + 'static {
    let log = log.clone();
    move || log.lock().unwrap().push(name.to_owned())
}

async fn parts(system: &ActorSystem, log: &Log) -> Vec<ActorRef<Part>> {
    let mut parts = Vec::new();
    for name in ["bus", "sensor", "motor"] {
        let part = Part {
            name,
            log: log.clone(),
        };
        parts.push(system.builder(part).name(name).start().await.unwrap());
    }
    parts
}

#[tokio::test(start_paused = true)]
async fn the_steps_run_first_in_order_then_the_actors_stop_newest_first() {
    let system = ActorSystem::new("robot");
    let log = Log::default();
    let parts = parts(&system, &log).await;
    system.on_shutdown("motors off", step(&log, "motors off"));
    system.on_shutdown("lights off", step(&log, "lights off"));

    let report = system.shutdown(Duration::from_secs(1)).await;

    assert_eq!(
        *log.lock().unwrap(),
        [
            "motors off",
            "lights off",
            "motor stopped",
            "sensor stopped",
            "bus stopped"
        ]
    );
    let ended: Vec<String> = report.ended.iter().map(|(a, _)| a.to_string()).collect();
    let newest_first: Vec<String> = parts.iter().rev().map(|p| p.label().to_string()).collect();
    assert_eq!(ended, newest_first);
    assert!(report.ended.iter().all(|(_, r)| *r == StopReason::Stopped));
    assert!(report.panicked_steps.is_empty());

    // Each step runs once.
    system.shutdown(Duration::from_secs(1)).await;
    assert_eq!(log.lock().unwrap().len(), 5);
}

#[tokio::test(start_paused = true)]
async fn the_steps_run_before_the_deadline_even_when_an_actor_hangs() {
    let system = ActorSystem::new("robot");
    let log = Log::default();
    let parts = parts(&system, &log).await;
    parts[2].hang().await.unwrap(); // the newest, stopped first, never stops
    system.on_shutdown("motors off", step(&log, "motors off"));

    let began = tokio::time::Instant::now();
    let report = system.shutdown(Duration::from_millis(100)).await;

    assert_eq!(log.lock().unwrap()[0], "motors off");
    assert!(report.deadline_passed);
    assert_eq!(began.elapsed(), Duration::from_millis(100));
    assert_eq!(report.killed, 3);
    assert_eq!(system.live_actors(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_step_that_panics_is_reported_and_the_rest_still_runs() {
    let system = ActorSystem::new("robot");
    let log = Log::default();
    let _parts = parts(&system, &log).await;
    system.on_shutdown("broken", || panic!("relay stuck"));
    system.on_shutdown("motors off", step(&log, "motors off"));

    let report = system.shutdown(Duration::from_secs(1)).await;

    assert_eq!(report.panicked_steps, ["broken"]);
    assert_eq!(log.lock().unwrap()[0], "motors off");
    assert_eq!(report.stopped, 3);
    assert_eq!(system.live_actors(), 0);
}
