//! Every actor runs in a `tracing` span named `actor` (id, name, type), and every message in a
//! `handle` span (handler); public handles are `Send + Sync`.

use std::sync::{Arc, Mutex};

use compaktor::prelude::*;
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

#[derive(Clone, Default)]
struct SpanLog(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanLog {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: LayerContext<'_, S>) {
        let mut fields = Fields(attrs.metadata().name().to_owned());
        attrs.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
}

struct Motor {
    duty: i8,
}

#[actor]
impl Motor {
    #[handler]
    fn set_duty(&mut self, duty: i8) {
        self.duty = duty;
    }

    #[handler]
    fn duty(&self) -> i8 {
        self.duty
    }
}

#[test]
fn actors_and_messages_get_tracing_spans() {
    let log = SpanLog::default();
    let subscriber = tracing_subscriber::registry()
        .with(log.clone())
        .with(tracing_subscriber::filter::LevelFilter::TRACE);
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let system = ActorSystem::new("test");
            let motor = system
                .builder(Motor { duty: 0 })
                .name("left_motor")
                .spawn()
                .unwrap();
            motor.set_duty(40).await.unwrap();
            assert_eq!(motor.duty().await.unwrap(), 40);
            let id = motor.id().as_u64();
            let spans = log.0.lock().unwrap().clone();
            let actor_span = spans
                .iter()
                .find(|s| s.starts_with("actor "))
                .unwrap_or_else(|| panic!("an actor span: {spans:?}"));
            assert!(actor_span.contains(&format!("id={id}")), "{actor_span}");
            assert!(actor_span.contains("name=\"left_motor\""), "{actor_span}");
            assert!(actor_span.contains("Motor"), "{actor_span}");
            let handled: Vec<_> = spans.iter().filter(|s| s.starts_with("handle ")).collect();
            assert_eq!(
                handled,
                ["handle handler=\"set_duty\"", "handle handler=\"duty\""]
            );
        });
    });
}

#[test]
fn public_handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ActorRef<Motor>>();
    send_sync::<ActorSystem>();
    send_sync::<Context<Motor>>();
    send_sync::<SendError>();
    send_sync::<AskError<std::io::Error>>();
    send_sync::<StopReason>();
    send_sync::<compaktor::TaskHandle>();
    send_sync::<compaktor::DeadLetter>();
    fn error<E: std::error::Error + Send + Sync + 'static>() {}
    error::<compaktor::TrySendError<Motor>>();
    error::<compaktor::TrySendError<Motor, u32, std::io::Error>>();
    fn send<T: Send>(_: T) {}
    // The futures of tells and asks can be awaited on any task. Checked by the compiler, not
    // run: spawning an actor here, on a thread without a subscriber, would race with the span
    // test above for tracing's interest cache of the `actor` span.
    fn futures_are_send(motor: &ActorRef<Motor>) {
        send(motor.set_duty(1).into_future());
        send(motor.duty().into_future());
        send(motor.stopped());
    }
    let _ = futures_are_send;
}
