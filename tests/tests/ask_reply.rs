//! Tell, ask, typed handler errors, timeouts, stopped actors and self-asks.

use std::time::Duration;

use compaktor::prelude::*;

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("cannot divide by zero")]
struct DivByZero;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    async fn add(&mut self, n: u64) {
        self.total += n;
    }

    #[handler]
    fn total(&self) -> u64 {
        self.total
    }

    #[handler]
    async fn div(&mut self, by: u64) -> Result<u64, DivByZero> {
        self.total.checked_div(by).ok_or(DivByZero)
    }

    #[handler]
    async fn slow_total(&self, delay: Duration) -> u64 {
        tokio::time::sleep(delay).await;
        self.total
    }

    /// Asks itself: must fail at once instead of deadlocking.
    #[handler]
    async fn ask_myself(&self, ctx: &mut Context<Self>) -> String {
        match ctx.actor_ref().total().await {
            Err(e @ AskError::SelfAsk { .. }) => e.to_string(),
            other => format!("unexpected: {other:?}"),
        }
    }

    fn not_a_handler(&self) -> u64 {
        self.total * 2
    }
}

#[tokio::test]
async fn tell_then_ask_sees_the_tell() {
    let system = ActorSystem::new("test");
    let counter: ActorRef<Counter> = system.spawn(Counter { total: 0 });
    counter.add(2).await.unwrap();
    counter.add(3).await.unwrap();
    assert_eq!(counter.total().await.unwrap(), 5);
}

#[tokio::test]
async fn a_tell_can_be_awaited_until_handled() {
    let system = ActorSystem::new("test");
    let counter = system.spawn(Counter { total: 0 });
    let done: Result<(), AskError<_>> = counter.add(7).ask().await;
    done.unwrap();
    assert_eq!(counter.total().await.unwrap(), 7);
}

#[tokio::test]
async fn handler_error_comes_back_typed() {
    let system = ActorSystem::new("test");
    let counter = system.spawn(Counter { total: 10 });
    assert_eq!(counter.div(2).await.unwrap(), 5);
    assert_eq!(counter.div(0).await, Err(AskError::Handler(DivByZero)));
    // The actor keeps running after an asked error.
    assert_eq!(counter.total().await.unwrap(), 10);
    assert!(counter.is_alive());
}

#[tokio::test]
async fn a_handlers_error_is_the_ask_errors_source() {
    let system = ActorSystem::new("test");
    let counter = system.spawn(Counter { total: 10 });
    let error = counter.div(0).await.unwrap_err();
    let source = std::error::Error::source(&error).expect("the handler's error is the source");
    assert!(source.is::<DivByZero>());
    assert_eq!(source.to_string(), DivByZero.to_string());
    // The other kinds have no source: nothing below them.
    let stopped: AskError<DivByZero> = AskError::Stopped {
        actor: counter.label().clone(),
        handler: "div",
    };
    assert!(std::error::Error::source(&stopped).is_none());
}

#[tokio::test(start_paused = true)]
async fn ask_times_out_and_the_actor_keeps_working() {
    let system = ActorSystem::new("test");
    let counter = system.spawn(Counter { total: 4 });
    let late = counter
        .slow_total(Duration::from_secs(10))
        .timeout(Duration::from_millis(50))
        .await;
    match late {
        Err(AskError::Timeout { handler, after, .. }) => {
            assert_eq!(handler, "slow_total");
            assert_eq!(after, Duration::from_millis(50));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The slow handler finishes; its late reply goes nowhere; the next ask is answered.
    assert_eq!(counter.total().await.unwrap(), 4);
    assert_eq!(
        counter
            .total()
            .timeout(Duration::from_millis(50))
            .await
            .unwrap(),
        4
    );
}

#[tokio::test]
async fn ask_to_a_stopped_actor_fails_and_counts_a_dead_letter() {
    let system = ActorSystem::new("test");
    let counter = system.spawn(Counter { total: 0 });
    counter.stop();
    counter.stopped().await;
    let before = system.dead_letter_count();
    match counter.total().await {
        Err(AskError::Stopped { handler, actor }) => {
            assert_eq!(handler, "total");
            assert_eq!(actor.id, counter.id());
        }
        other => panic!("expected Stopped, got {other:?}"),
    }
    assert!(matches!(
        counter.add(1).await,
        Err(SendError::Stopped { handler: "add", .. })
    ));
    assert_eq!(system.dead_letter_count(), before + 2);
}

#[tokio::test]
async fn asking_oneself_is_an_immediate_error_not_a_deadlock() {
    let system = ActorSystem::new("test");
    let counter = system.spawn(Counter { total: 1 });
    let text = counter
        .ask_myself()
        .timeout(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(text.contains("asked itself `total`"), "{text}");
    assert!(counter.is_alive());
}

#[tokio::test]
async fn an_ask_can_be_sent_as_a_tell() {
    let system = ActorSystem::new("test");
    let counter = system.spawn(Counter { total: 3 });
    counter.total().tell().await.unwrap();
    assert_eq!(counter.total().await.unwrap(), 3);
    assert_eq!(Counter { total: 1 }.not_a_handler(), 2);
}

#[tokio::test]
async fn try_send_ask_returns_a_pending_reply() {
    let system = ActorSystem::new("test");
    let counter = system.spawn(Counter { total: 9 });
    let pending = counter.total().try_send().unwrap();
    assert_eq!(pending.await.unwrap(), 9);
}

#[test]
fn blocking_ask_and_tell_from_a_plain_thread() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let counter = rt.block_on(async { ActorSystem::new("test").spawn(Counter { total: 0 }) });
    // A plain thread, like a GPIO interrupt callback.
    std::thread::spawn(move || {
        counter.add(5).blocking_send().unwrap();
        assert_eq!(counter.total().blocking().unwrap(), 5);
    })
    .join()
    .unwrap();
}
