//! Blocking calls (`blocking_send`, `Ask::blocking`, `Recipient::blocking_tell`) on a thread
//! inside a tokio runtime are refused with a typed error every time, full mailbox or not, on a
//! current-thread runtime (where blocking would deadlock) and a multi-thread one; from a plain
//! thread they still block for room and for the reply. Each case runs on its own thread with a
//! limit, so a deadlock fails the test instead of hanging it.

use std::future::IntoFuture;
use std::sync::mpsc;
use std::time::Duration;

use compaktor::DeadLetterReason;
use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor(mailbox = 2)]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64) {
        self.total += n;
    }

    #[handler]
    fn total(&self) -> u64 {
        self.total
    }
}

/// Runs `f` on its own thread; fails if it has not returned within 10 s (a deadlock).
fn within_limit<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the blocking call hung instead of returning")
}

/// Every blocking call from async code, with room and then with a full mailbox.
async fn every_blocking_call_is_refused() {
    let system = ActorSystem::new("test");
    let mut letters = system.dead_letters();
    let counter = system.spawn(Counter { total: 0 });
    let recipient: Recipient<u64> = Recipient::new(&counter, |c, n| c.add(n));
    for full in [false, true] {
        if full {
            // On a current-thread runtime the actor does not run while this task does.
            while counter.add(1).try_send().is_ok() {}
        }
        let sent = counter.add(1).blocking_send();
        assert!(
            matches!(
                sent,
                Err(SendError::BlockingInRuntime { handler: "add", .. })
            ),
            "full: {full}: {sent:?}"
        );
        let asked = counter.total().blocking();
        assert!(
            matches!(
                asked,
                Err(AskError::BlockingInRuntime {
                    handler: "total",
                    ..
                })
            ),
            "full: {full}: {asked:?}"
        );
        let told = recipient.blocking_tell(1);
        assert!(
            matches!(told, Err(SendError::BlockingInRuntime { .. })),
            "full: {full}: {told:?}"
        );
    }
    let text = counter.add(1).blocking_send().unwrap_err().to_string();
    assert!(text.contains("`.await` the send instead"), "{text}");
    // Each refused message is counted as a dead letter, which carries it.
    assert_eq!(
        system.dead_letter_count_for(DeadLetterReason::WouldDeadlock),
        7
    );
    let mut refused = 0;
    while refused < 7 {
        let letter = futures::StreamExt::next(&mut letters)
            .await
            .expect("a letter");
        if letter.reason == DeadLetterReason::WouldDeadlock {
            assert!(
                letter.with_message::<Counter, _>(|_| ()).is_some(),
                "{letter:?}"
            );
            refused += 1;
        }
    }
}

#[test]
fn blocking_calls_from_a_current_thread_runtime_are_refused_not_deadlocked() {
    within_limit(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(every_blocking_call_is_refused());
    });
}

#[test]
fn blocking_calls_from_a_multi_thread_runtime_are_refused() {
    within_limit(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        // In a spawned task, and in the runtime's `block_on`.
        runtime
            .block_on(runtime.spawn(every_blocking_call_is_refused()))
            .expect("the task ran");
        runtime.block_on(every_blocking_call_is_refused());
    });
}

#[test]
fn a_spawn_blocking_closure_is_refused_too_and_uses_the_handle_instead() {
    within_limit(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let system = ActorSystem::new("test");
            let counter = system.spawn(Counter { total: 0 });
            let total = tokio::task::spawn_blocking(move || {
                // tokio cannot tell this thread from one running tasks: refused.
                assert!(matches!(
                    counter.add(1).blocking_send(),
                    Err(SendError::BlockingInRuntime { .. })
                ));
                // What the error says to do instead.
                let handle = tokio::runtime::Handle::current();
                handle.block_on(counter.add(2).into_future()).expect("sent");
                handle
                    .block_on(counter.total().into_future())
                    .expect("asked")
            })
            .await
            .expect("the closure ran");
            assert_eq!(total, 2);
        });
    });
}

#[test]
fn a_plain_thread_still_blocks_for_room_and_for_the_reply() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let counter = runtime.block_on(async { ActorSystem::new("test").spawn(Counter { total: 0 }) });
    let total = within_limit(move || {
        for _ in 0..100 {
            counter.add(1).blocking_send().expect("sent");
        }
        counter.total().blocking().expect("asked")
    });
    assert_eq!(total, 100);
}
