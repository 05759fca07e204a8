//! The rest of `Context`: its own ref, stopping from inside, streams as message sources,
//! blocking work off the event loop, and generic actors.

use std::sync::Arc;
use std::time::Duration;

use compaktor::prelude::*;
use futures::StreamExt;
use futures::stream;

struct Sensor {
    readings: Vec<u32>,
}

#[actor]
impl Sensor {
    #[handler]
    fn attach(&mut self, samples: Vec<u32>, ctx: &mut Context<Self>) {
        ctx.attach_stream(stream::iter(samples), |me, reading| me.reading(reading));
    }

    #[handler]
    fn reading(&mut self, value: u32) {
        self.readings.push(value);
    }

    #[handler]
    fn readings(&self) -> Vec<u32> {
        self.readings.clone()
    }

    /// Blocking work: a slow bus transfer.
    #[handler]
    async fn read_bus(&mut self, ctx: &mut Context<Self>) -> u32 {
        ctx.spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(200));
            42
        })
        .await
    }

    #[handler]
    async fn bus_panics(&mut self, ctx: &mut Context<Self>) -> u32 {
        ctx.spawn_blocking(|| panic!("i2c nack")).await
    }

    #[handler]
    fn quit(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }

    #[handler]
    fn whoami(&self, ctx: &mut Context<Self>) -> (ActorId, String) {
        (ctx.actor_ref().id(), ctx.system().name().to_owned())
    }
}

fn sensor() -> Sensor {
    Sensor {
        readings: Vec::new(),
    }
}

#[tokio::test]
async fn a_stream_feeds_the_actor_in_order_through_its_bounded_mailbox() {
    let system = ActorSystem::new("test");
    let s = system
        .builder(sensor())
        .mailbox(Mailbox::bounded(4))
        .spawn()
        .expect("unique name");
    s.attach((0..1000).collect()).await.unwrap();
    let readings = loop {
        let readings = s.readings().await.unwrap();
        if readings.len() == 1000 {
            break readings;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(readings, (0..1000).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_work_does_not_block_the_event_loop() {
    let system = ActorSystem::new("test");
    let busy = system.spawn(sensor());
    let other = system.spawn(sensor());
    let read = tokio::spawn({
        let busy = busy.clone();
        async move { busy.read_bus().await }
    });
    tokio::task::yield_now().await;
    // On a single-threaded runtime, the other actor still answers while the bus is read.
    let started = std::time::Instant::now();
    other.reading(1).await.unwrap();
    assert_eq!(other.readings().await.unwrap(), [1]);
    assert!(started.elapsed() < Duration::from_millis(150));
    assert_eq!(read.await.unwrap().unwrap(), 42);
}

#[tokio::test]
async fn a_panic_in_blocking_work_is_a_handler_panic() {
    let system = ActorSystem::new("test");
    let s = system.spawn(sensor());
    assert!(matches!(
        s.bus_panics().await,
        Err(AskError::Panicked { message, .. }) if message == "i2c nack"
    ));
}

#[tokio::test]
async fn ctx_stop_ends_after_the_current_message_and_dead_letters_the_rest() {
    let system = ActorSystem::new("test");
    let s = system.spawn(sensor());
    let before = system.dead_letter_count();
    // Queue all three before the actor runs (current-thread test runtime).
    s.quit().try_send().unwrap();
    s.reading(1).try_send().unwrap();
    s.reading(2).try_send().unwrap();
    assert_eq!(s.stopped().await, StopReason::Stopped);
    assert_eq!(system.dead_letter_count(), before + 2);
}

#[tokio::test]
async fn ctx_knows_its_own_ref_and_system() {
    let system = ActorSystem::new("rover");
    let s = system.spawn(sensor());
    assert_eq!(s.whoami().await.unwrap(), (s.id(), "rover".to_owned()));
}

#[tokio::test]
async fn dead_letters_arrive_on_the_stream() {
    let system = ActorSystem::new("test");
    let mut letters = system.dead_letters();
    let s = system.builder(sensor()).name("sonar").spawn().unwrap();
    s.kill();
    s.stopped().await;
    let _ = s.reading(7).await;
    let letter = tokio::time::timeout(Duration::from_secs(5), letters.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(letter.handler, "reading");
    assert_eq!(letter.recipient.name.as_deref(), Some("sonar"));
    assert_eq!(letter.reason, compaktor::DeadLetterReason::Stopped);
}

/// A generic actor.
struct Store<T> {
    items: Vec<T>,
}

#[actor]
impl<T: Clone + Send + Sync + 'static> Store<T> {
    #[handler]
    fn put(&mut self, item: T) {
        self.items.push(item);
    }

    #[handler]
    fn all(&self) -> Vec<T> {
        self.items.clone()
    }

    #[handler]
    fn merge(&mut self, other: Self) -> usize {
        self.items.extend(other.items);
        self.items.len()
    }
}

#[tokio::test]
async fn generic_actors_work() {
    let system = ActorSystem::new("test");
    let words = system.spawn(Store::<String> { items: Vec::new() });
    let numbers: ActorRef<Store<Arc<u8>>> = system.spawn(Store { items: Vec::new() });
    words.put("left".into()).await.unwrap();
    numbers.put(Arc::new(3)).await.unwrap();
    let merged = words
        .merge(Store {
            items: vec!["right".to_owned()],
        })
        .await
        .unwrap();
    assert_eq!(merged, 2);
    assert_eq!(words.all().await.unwrap(), ["left", "right"]);
    assert_eq!(*numbers.all().await.unwrap()[0], 3);
}
