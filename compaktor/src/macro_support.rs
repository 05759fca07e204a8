//! The runtime side of what `#[actor]` generates: the message trait, the reply channel, and
//! [`dispatch_now`], which routes one handler call's result (the runner catches its panic).
//! Nothing here is public API; the macro reaches it through `compaktor::__private`, the crate
//! itself by this module's path.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt::Display;

use tokio::sync::oneshot;

use crate::{HandlerFailure, StartError};

/// The generated message enum of an actor.
#[doc(hidden)]
pub trait Message: Send + 'static {
    /// The handler this message calls, for logs, errors and dead letters.
    fn handler_name(&self) -> &'static str;
    /// The message's `Option<ReplyTo<R, E>>`, so `Tell::ask` / `Ask::tell` can set or clear it.
    fn reply_slot(&mut self) -> &mut dyn Any;
    /// Drops its reply channel, if it is an ask: its asker learns at once that no reply comes
    /// (a dead letter keeps the message itself for as long as a subscriber wants).
    fn drop_reply(&mut self);
    /// Whether its handler is `async` (run by `Actor::handle`; a plain one by
    /// `Actor::handle_now`).
    fn awaits(&self) -> bool {
        true
    }
    /// The hash of the handler's `#[key]` argument, if it has one.
    fn routing_key(&self) -> Option<u64> {
        None
    }
    /// A copy of a tell (for a broadcasting pool): `None` for an ask, or when an argument is
    /// not `Clone`.
    fn copy_tell(&self) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }
}

/// Autoref specialisation for [`Message::copy_tell`]: `(&&MaybeClone(&x)).maybe_clone()`
/// clones `x` when its type is `Clone` and gives `None` otherwise, without a `Clone` bound.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct MaybeClone<'a, T>(pub &'a T);

#[doc(hidden)]
pub trait CloneWhenClone<T> {
    fn maybe_clone(&self) -> Option<T>;
}

impl<T: Clone> CloneWhenClone<T> for &MaybeClone<'_, T> {
    fn maybe_clone(&self) -> Option<T> {
        Some(self.0.clone())
    }
}

#[doc(hidden)]
pub trait CloneFallback<T> {
    fn maybe_clone(&self) -> Option<T>;
}

impl<T> CloneFallback<T> for MaybeClone<'_, T> {
    fn maybe_clone(&self) -> Option<T> {
        None
    }
}

/// What a `#[key]` argument must be: hashable.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a `#[key]` argument must be `Hash`, and `{Self}` is not",
    label = "not `Hash`",
    note = "derive it (`#[derive(Hash, PartialEq, Eq)]`), or mark another argument `#[key]`"
)]
pub trait RoutingKey {
    fn routing_hash(&self) -> u64;
}

impl<K: std::hash::Hash + ?Sized> RoutingKey for K {
    fn routing_hash(&self) -> u64 {
        use std::hash::Hasher;
        // `DefaultHasher::new()` has fixed keys (a `RandomState` would not).
        let mut hasher = std::hash::DefaultHasher::new();
        self.hash(&mut hasher);
        hasher.finish()
    }
}

/// The hash a consistent-hashing pool routes by: the same in every run.
#[doc(hidden)]
pub fn routing_key<K: RoutingKey + ?Sized>(key: &K) -> u64 {
    key.routing_hash()
}

/// What the failed side of a reply carries.
#[doc(hidden)]
#[derive(Debug)]
pub enum ReplyFailure<E> {
    Handler(E),
    Panicked(String),
    /// Sent through a pool that had no worker.
    NoWorker,
    /// A remote actor's full mailbox did not take it (its capacity).
    Full(usize),
    /// A remote call got no answer from the actor (boxed: rare, and it would widen every
    /// reply).
    Remote(Box<crate::RemoteFailure>),
}

#[doc(hidden)]
pub type ReplyReceiver<R, E> = oneshot::Receiver<Result<R, ReplyFailure<E>>>;

/// Where a handler's result goes when it was asked.
#[doc(hidden)]
#[derive(Debug)]
pub struct ReplyTo<R: 'static, E: 'static> {
    tx: Option<oneshot::Sender<Result<R, ReplyFailure<E>>>>,
}

impl<R: 'static, E: 'static> ReplyTo<R, E> {
    /// Whether the asker has given up on the reply (a remote proxy then stops waiting too).
    #[cfg(feature = "remote")]
    pub(crate) fn is_abandoned(&self) -> bool {
        self.tx.as_ref().is_none_or(|tx| tx.is_closed())
    }

    /// Resolves once the asker has given up on the reply (at once if it has already).
    #[cfg(feature = "remote")]
    pub(crate) async fn abandoned(&mut self) {
        if let Some(tx) = self.tx.as_mut() {
            tx.closed().await;
        }
    }

    #[inline]
    pub(crate) fn send(mut self, result: Result<R, ReplyFailure<E>>) {
        if let Some(tx) = self.tx.take()
            && let Err(unsent) = tx.send(result)
        {
            // The asker has given up (timeout); its reply goes nowhere.
            discard(unsent);
        }
    }
}

/// Drops a reply nobody waits for any more. Out of line and cold: dropping a
/// `ReplyFailure` (its remote variant boxes strings) is enough code that, inlined, it kept
/// [`dispatch_now`] from being inlined into every actor's message loop.
#[cold]
#[inline(never)]
fn discard<T>(unsent: T) {
    drop(unsent);
}

impl<R: 'static, E: 'static> Drop for ReplyTo<R, E> {
    /// A reply dropped unsent because its handler panicked tells the asker the panic message,
    /// once the actor loop has caught it; dropped for any other reason (a kill, a stop), the
    /// asker sees `Stopped`.
    #[inline]
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            answer_dropped(tx);
        }
    }
}

/// The reply of [`ReplyTo`]'s drop, when it was dropped unsent: cold, out of the message loop.
#[cold]
#[inline(never)]
fn answer_dropped<R: 'static, E: 'static>(tx: oneshot::Sender<Result<R, ReplyFailure<E>>>) {
    if FLAGS.with(|f| f.refusing.get()) {
        let _ = tx.send(Err(ReplyFailure::NoWorker));
    } else if let Some(message) = panic_in_flight() {
        let _ = tx.send(Err(ReplyFailure::Panicked(message)));
    } else if std::thread::panicking() {
        // Dropped by the unwinding itself: the message is not known yet. (Outside a
        // handler the orphan is dropped here, and the asker sees `Stopped`.)
        adopt_orphan(Box::new(move |message| {
            let _ = tx.send(Err(ReplyFailure::Panicked(message)));
        }));
    }
}

type Orphan = Box<dyn FnOnce(String)>;

/// How a reply dropped unsent on this thread is answered is decided by two thread-locals, split
/// by cost. [`FLAGS`] is read on every handler poll, so it holds `Cell`s only, in a type without
/// a destructor: such a thread-local is reached without the liveness check that one with a
/// destructor pays on every access (the assertion below keeps it so). [`UNWINDING`] owns memory
/// and is touched only on a panic or a pool's refusal.
struct Flags {
    /// A handler is being polled on this thread.
    polling: Cell<bool>,
    /// Replies were dropped during this poll and wait in [`Unwinding::orphans`].
    orphaned: Cell<bool>,
    /// A pool is dropping a message it has no worker for.
    refusing: Cell<bool>,
}

const _: () = assert!(
    !std::mem::needs_drop::<Flags>(),
    "the per-poll thread-local must not need a destructor"
);

struct Unwinding {
    /// Replies dropped while their handler's panic unwinds, waiting for its message.
    orphans: Vec<Orphan>,
    /// Set while the actor loop drops the state of a handler that panicked.
    panic: Option<String>,
}

thread_local! {
    static FLAGS: Flags = const {
        Flags { polling: Cell::new(false), orphaned: Cell::new(false), refusing: Cell::new(false) }
    };
    static UNWINDING: RefCell<Unwinding> = const {
        RefCell::new(Unwinding { orphans: Vec::new(), panic: None })
    };
}

/// Answers `message`'s asker, if it is an ask, with `AskError::NoWorker`: a pool has no
/// worker for it. The message itself is left for a dead letter.
pub(crate) fn refuse<M: Message>(message: &mut M) {
    FLAGS.with(|f| f.refusing.set(true));
    message.drop_reply();
    FLAGS.with(|f| f.refusing.set(false));
}

/// Keeps `answer` for the panic message if a handler is being polled on this thread; else it
/// is dropped (its asker sees `Stopped`).
fn adopt_orphan(answer: Orphan) {
    if FLAGS.with(|f| f.polling.get()) {
        FLAGS.with(|f| f.orphaned.set(true));
        UNWINDING.with(|u| u.borrow_mut().orphans.push(answer));
    }
}

/// Marks this thread as polling a handler, until [`leave`](Polling::leave) or a panic.
#[derive(Debug)]
pub(crate) struct Polling(());

impl Polling {
    #[inline]
    pub(crate) fn enter() -> Polling {
        FLAGS.with(|f| f.polling.set(true));
        Polling(())
    }

    /// The poll returned. True if a panic the handler caught itself dropped replies meanwhile
    /// (see [`answer_orphans`]).
    #[inline]
    pub(crate) fn leave(self) -> bool {
        std::mem::forget(self);
        FLAGS.with(|f| {
            f.polling.set(false);
            f.orphaned.replace(false)
        })
    }
}

impl Drop for Polling {
    /// Only on a panic: the poll did not return.
    fn drop(&mut self) {
        FLAGS.with(|f| f.polling.set(false));
    }
}

/// Answers the askers whose replies a panic dropped on this thread, where the actor loop
/// catches it. With `None` (the handler caught a panic itself) they are dropped: `Stopped`.
pub(crate) fn answer_orphans(message: Option<&str>) {
    FLAGS.with(|f| f.orphaned.set(false));
    let orphans = UNWINDING.with(|u| std::mem::take(&mut u.borrow_mut().orphans));
    if let Some(message) = message {
        for answer in orphans {
            answer(message.to_owned());
        }
    }
}

fn panic_in_flight() -> Option<String> {
    UNWINDING.with(|u| u.borrow().panic.clone())
}

/// While alive (after [`PanicCleanup::set`]), replies dropped on this thread carry the panic
/// message to their askers: for state the unwinding did not drop.
#[derive(Debug, Default)]
pub(crate) struct PanicCleanup(());

impl PanicCleanup {
    pub(crate) fn set(&self, message: String) {
        answer_orphans(Some(&message));
        UNWINDING.with(|u| u.borrow_mut().panic = Some(message));
    }
}

impl Drop for PanicCleanup {
    fn drop(&mut self) {
        UNWINDING.with(|u| u.borrow_mut().panic = None);
    }
}

/// A new reply channel for one ask.
#[doc(hidden)]
#[inline]
pub fn reply_channel<R, E>() -> (ReplyTo<R, E>, ReplyReceiver<R, E>) {
    let (tx, rx) = oneshot::channel();
    (ReplyTo { tx: Some(tx) }, rx)
}

/// How one handler call ended, for the actor loop.
#[doc(hidden)]
#[derive(Debug)]
pub enum Outcome {
    /// Handled (an asked `Err` went back to the asker).
    Done,
    /// A told handler returned `Err`: the failure hook decides. Boxed: rare, and the loop
    /// moves an `Outcome` for every message, and so it is one word.
    Failed(Box<HandlerFailure>),
}

/// Routes one handler call's result: to the asker if there is one, else a told `Err` becomes
/// [`Outcome::Failed`] with `failure` ([`handler_failure`]). An `async` handler is awaited in
/// the generated `handle` first; a panic is caught around the call by the actor's task.
///
/// `E` has no bound here: `handler_failure::<E>` carries it, so that a wrong error type is
/// reported once, on the user's `E`.
#[doc(hidden)]
#[inline]
pub fn dispatch_now<R, E>(
    handler: &'static str,
    reply: Option<ReplyTo<R, E>>,
    result: Result<R, E>,
    failure: fn(&'static str, E) -> HandlerFailure,
) -> Outcome {
    match result {
        Ok(value) => {
            if let Some(reply) = reply {
                reply.send(Ok(value));
            }
            Outcome::Done
        }
        Err(error) => handler_error(handler, reply, error, failure),
    }
}

/// A handler's `Err`, routed: to the asker, or as [`Outcome::Failed`]. Cold: the `Ok` path of
/// [`dispatch_now`] stays small enough to inline into the message loop.
#[cold]
#[inline(never)]
fn handler_error<R, E>(
    handler: &'static str,
    reply: Option<ReplyTo<R, E>>,
    error: E,
    failure: fn(&'static str, E) -> HandlerFailure,
) -> Outcome {
    match reply {
        Some(reply) => {
            reply.send(Err(ReplyFailure::Handler(error)));
            Outcome::Done
        }
        None => Outcome::Failed(Box::new(failure(handler, error))),
    }
}

/// Splits a handler's `Result<T, E>` return type (also through aliases such as `io::Result<T>`)
/// into its reply and error types.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Result`",
    note = "a handler whose return type is spelled `Result<..>` must return a `core::result::Result`"
)]
pub trait SplitResult {
    type Ok;
    type Err;
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> SplitResult for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// What a start hook may return: nothing, or `Result<(), E>` with an error `E` (any
/// `std::error::Error + Send + Sync + 'static`, a `String` or a `&'static str`), which is kept
/// whole in a [`StartError`].
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a start hook returns `()` or `Result<(), E>` where `E` is an error, not `{Self}`",
    label = "unsupported start hook return type"
)]
pub trait HookResult {
    fn into_start_result(self) -> Result<(), StartError>;
}

impl HookResult for () {
    fn into_start_result(self) -> Result<(), StartError> {
        Ok(())
    }
}

impl<E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>> HookResult for Result<(), E> {
    fn into_start_result(self) -> Result<(), StartError> {
        self.map_err(StartError::new)
    }
}

/// Checked for each handler argument and reply: messages cross threads.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be passed to or from an actor: it is not `Send + 'static`",
    label = "not `Send + 'static`",
    note = "handler arguments and replies move between threads; use `Arc` instead of `Rc`, \
            `Mutex` instead of `RefCell`, and owned data instead of borrowed"
)]
pub trait AssertMessageSend: Send + 'static {}
impl<T: Send + 'static> AssertMessageSend for T {}

#[doc(hidden)]
pub const fn assert_message_send<T: AssertMessageSend>() {}

/// `T` itself, named through a constant that checks it:
/// `<T as Checked<{ assert_message_send::<T>(); 0 }>>::Type`. When the check fails, the
/// constant is an error, and so is the type: the mismatch is reported once, on the user's `T`,
/// and not again by every generated item and runtime type that holds the message.
#[doc(hidden)]
pub trait Checked<const CHECK: usize> {
    type Type: ?Sized;
}
impl<T: ?Sized, const CHECK: usize> Checked<CHECK> for T {
    type Type = T;
}

/// Checked for the actor type: it moves between threads with its state.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an actor: it is not `Send + 'static`",
    label = "not `Send + 'static`",
    note = "an actor's state moves between threads; use `Arc` instead of `Rc`, `Mutex` instead \
            of `RefCell`, and owned data instead of borrowed"
)]
pub trait AssertActor: Send + 'static {}
impl<T: Send + 'static> AssertActor for T {}

#[doc(hidden)]
pub const fn assert_actor<T: AssertActor>() {}

/// The bound on the error type of a handler returning `Result<T, E>`, checked by
/// [`handler_failure`], which the macro names with `E` spanned on the user's tokens.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "the handler error type `{Self}` must be `Display + Send + Sync + 'static`",
    label = "not `Display + Send + Sync + 'static`",
    note = "a told handler's `Err` is logged and handed to the failure hook as text; \
            derive it with `thiserror::Error` or implement `Display`"
)]
pub trait AssertHandlerError: Display + Send + Sync + 'static {}
impl<T: Display + Send + Sync + 'static> AssertHandlerError for T {}

#[doc(hidden)]
pub const fn assert_handler_error<E: AssertHandlerError>() {}

/// A told handler's `Err` as a [`HandlerFailure`]; passed to [`dispatch_now`].
#[doc(hidden)]
pub fn handler_failure<E: AssertHandlerError>(handler: &'static str, error: E) -> HandlerFailure {
    HandlerFailure::new(handler, error)
}

/// What a failure hook may return: a [`FailureAction`](crate::FailureAction).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a failure hook returns a `FailureAction`, not `{Self}`",
    label = "not a `FailureAction`",
    note = "return `FailureAction::Resume` to handle the next message, or `FailureAction::Fail`"
)]
pub trait FailureHookResult {
    fn into_action(self) -> crate::FailureAction;
}

impl FailureHookResult for crate::FailureAction {
    fn into_action(self) -> crate::FailureAction {
        self
    }
}
