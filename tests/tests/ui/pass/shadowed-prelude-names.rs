//! Generated code must name everything by absolute path: every name it could use is shadowed
//! here by a local item, and the actor still compiles and runs.
#![allow(dead_code, non_camel_case_types)]
#![deny(warnings)]

use compaktor::prelude::*;

// std prelude types, traits and variants.
struct Result;
struct Option;
struct Some;
struct None;
struct Ok;
struct Err;
struct Box;
struct String;
struct Vec;
struct Send;
struct Sync;
struct Sized;
struct Unpin;
struct Drop;
struct Fn;
struct FnMut;
struct FnOnce;
struct Clone;
struct Copy;
struct Default;
struct From;
struct Into;
struct Iterator;
struct IntoIterator;
struct ToString;
struct ToOwned;
struct PartialEq;
struct Eq;
// Names from `core` the generated code uses.
struct Future;
struct IntoFuture;
struct Infallible;
struct PhantomData;
struct Display;
struct Debug;
struct Formatter;
struct Any;
// Runtime names.
struct Mailbox;
struct Tell;
struct Ask;
struct Actor;
struct Handlers;
struct Message;
struct RefCore;
struct ReplyTo;
struct Outcome;
struct SplitResult;
struct HookResult;
fn dispatch() {}
fn reply_channel() {}
// Modules: a relative `core::…`, `std::…` or `__private::…` path would land here.
mod core {}
mod std {}
mod __private {}

struct Counter {
    total: u64,
    started: bool,
}

#[derive(::core::fmt::Debug)]
struct DivByZero;

impl ::core::fmt::Display for DivByZero {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str("cannot divide by zero")
    }
}

impl ::std::error::Error for DivByZero {}

#[actor(mailbox = 8)]
impl Counter {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> ::core::result::Result<(), DivByZero> {
        let _ = ctx.id();
        self.started = true;
        ::core::result::Result::Ok(())
    }

    #[on_stop]
    fn stop_hook(&mut self, reason: &StopReason) {
        let _ = reason;
    }

    #[on_failure]
    fn failed(&mut self, failure: &HandlerFailure) -> FailureAction {
        let _ = failure;
        FailureAction::Resume
    }

    /// A tell.
    #[handler]
    async fn add(&mut self, n: u64) {
        self.total += n;
    }

    /// An ask.
    #[handler]
    fn total(&self) -> u64 {
        self.total
    }

    /// An ask whose `Err` goes to the asker.
    #[handler]
    fn div(&self, by: u64) -> ::core::result::Result<u64, DivByZero> {
        if by == 0 {
            ::core::result::Result::Err(DivByZero)
        } else {
            ::core::result::Result::Ok(self.total / by)
        }
    }

    #[handler]
    fn started(&self) -> bool {
        self.started
    }

    #[handler]
    fn names(
        &self,
        names: ::std::vec::Vec<::std::string::String>,
    ) -> ::core::option::Option<usize> {
        ::core::option::Option::Some(names.len())
    }
}

async fn run() {
    let system = ActorSystem::new("shadowed");
    let counter = system
        .start(Counter {
            total: 0,
            started: false,
        })
        .await
        .unwrap();
    counter.add(6).await.unwrap();
    counter.add(4).ask().await.unwrap();
    assert_eq!(counter.total().await.unwrap(), 10);
    assert_eq!(counter.div(5).await.unwrap(), 2);
    assert!(matches!(
        counter.div(0).await,
        ::core::result::Result::Err(AskError::Handler(DivByZero))
    ));
    assert!(counter.started().await.unwrap());
    assert_eq!(
        counter.names(::std::vec::Vec::new()).await.unwrap(),
        ::core::option::Option::Some(0)
    );
    counter.stop();
    assert_eq!(counter.stopped().await, StopReason::Stopped);
}

fn main() {
    ::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
