//! Procedural macros for [CompAktor](https://docs.rs/compaktor). Use them through the
//! `compaktor` crate (`use compaktor::prelude::*;`), not directly: the generated code names
//! `::compaktor::…` paths.
//!
//! The crate is split the way serde_derive and thiserror are: `attr` parses options, `ast`
//! builds a typed model of the impl block, `check` reports every mistake at the user's span
//! (collected in `ctxt`), `expand` generates, and `fallback` keeps the user's code compiling
//! around the errors.

mod ast;
mod attr;
#[cfg(test)]
mod cases;
mod check;
mod ctxt;
mod expand;
mod fallback;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::Item;

use crate::ctxt::Ctxt;

/// Turns an `impl` block into an actor: its `#[handler]` methods become messages.
///
/// ```
/// use compaktor::prelude::*;
///
/// struct Counter { total: u64 }
///
/// #[actor(mailbox = 64)]
/// impl Counter {
///     /// Returns `()`: calling it on the ref is a tell.
///     #[handler]
///     async fn add(&mut self, n: u64) { self.total += n; }
///
///     /// Returns a value: calling it is an ask.
///     #[handler]
///     fn total(&self) -> u64 { self.total }
///
///     fn helper(&self) {} // not a handler: left alone
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let system = ActorSystem::new("doc");
/// # let counter = system.spawn(Counter { total: 0 });
/// # counter.add(1).await.unwrap();
/// # assert_eq!(counter.total().await.unwrap(), 1);
/// # }
/// ```
///
/// # Options
/// - `mailbox = N`: a bounded mailbox of `N` messages (the default is 1024);
/// - `mailbox = unbounded`: no limit;
/// - `message = CounterMsg`: puts the message enum beside the impl under this name, for code
///   that needs to name it. Without it the enum is hidden; either way it is
///   `<Counter as Actor>::Message`. Its variants are not public API.
///
/// The types `#[actor]` generates live in an anonymous `const _: () = { .. };` block: their
/// names cannot collide with yours. A type has one `#[actor]` block (a second one is rustc's
/// "conflicting implementations of trait `Actor`"): put all its handlers and hooks in it.
///
/// # Handlers
/// A `#[handler]` method takes `&mut self` or `&self` (also written `self: &mut Self`), then
/// owned arguments (they are moved into the message, so they must be `Send + 'static`), and
/// optionally `ctx: &mut Context<Self>` anywhere among them. It may be `async` or not.
///
/// An argument or reply that is not `Send + 'static` is reported first, on its type. For a
/// type made of std types (`Rc<u8>`, `RefCell<Vec<u8>>`) that is the only error. For a type of
/// your own (`struct Reading { value: Rc<u8> }`) the same mistake is then reported again where
/// the generated message enum must be `Send` (some five more errors at `#[actor]`): fix the
/// first one and they all go. This is a limit of the type system, not an oversight: your type
/// may hold this actor's own `ActorRef` (a `struct Link { next: ActorRef<Node> }`), and then
/// whether it is `Send` depends on whether the message enum is. Naming the field through a
/// check (as for std types) would make the enum depend on that proof: rustc reports a cycle
/// (E0391) through a constant, or an overflow (E0275) through a trait projection, for every
/// such type, including those that are `Send`.
///
/// `#[actor]` reads the markers as written in its block: a marker behind `cfg_attr` is an
/// error (put `#[cfg(..)]` on the method instead), and a method a `macro_rules!` macro produces
/// inside the block is not seen (have the macro produce the whole `#[actor] impl` block).
///
/// A handler cannot be named like a method that an `ActorRef` or a `Pool` (or a trait they
/// implement, such as `Clone` or `ToOwned`) already has: the call would reach that method
/// instead (`stop`, `path`, `broadcast`, `clone_into`, ...). The error names the method.
/// - returning nothing: the method on the ref returns a `Tell` (`.await` enqueues it,
///   `.ask().await` waits until it has been handled);
/// - returning `T`: an `Ask<.., T, Infallible>`;
/// - returning `Result<T, E>` (also through an alias such as `io::Result<T>`): an
///   `Ask<.., T, E>`, whose `Err` arrives as `AskError::Handler(e)`. `E` must be
///   `Display + Send + Sync`; a boxed error is `Box<dyn Error + Send + Sync>`. When `E` is a
///   `std::error::Error`, so is `AskError<E>`, and its `source()` is `e` (a `Box<dyn Error>`
///   is not an `Error` itself: match `AskError::Handler(e)` to reach it).
///
/// One value argument may be marked `#[key]` (`fn place(&self, #[key] robot: u32, ..)`): a
/// pool with `Routing::ConsistentHash` sends each message to the worker its key hashes to. The
/// argument must be `Hash`.
///
/// # Hooks
/// - `#[on_start]`: `(&mut self[, ctx])`, returning `()` or `Result<(), E>` where `E` is an
///   error (a `std::error::Error + Send + Sync + 'static`, a boxed one, a `String` or a
///   `&'static str`); an `Err` means the actor never runs, and reaches the caller whole
///   (`SpawnError::StartFailed`, whose `source()` is the error, or `StopReason::StartFailed`).
/// - `#[on_stop]`: `(&mut self[, ctx][, reason: &StopReason])`; runs once, whatever the reason.
/// - `#[on_failure]`: `(&mut self, failure: &HandlerFailure[, ctx]) -> FailureAction`; called
///   when a told handler returns `Err` (the default, `FailureAction::Fail`, restarts an actor
///   made by a factory and stops one spawned from a value).
/// - `#[on_restart]`: `(&mut self[, ctx][, info: &RestartInfo])`; runs on an instance its
///   supervisor made after the previous one failed, before its `#[on_start]`.
///
/// # Expands to
/// For `impl Counter`, besides the impl itself (markers removed):
/// ```text
/// // the `Send + 'static` check of the actor, evaluated (and so reported) first
/// const _: [(); { assert_actor::<Counter>(); 0 }] = [];
/// const _: () = {
/// // argument and reply types made of std types are named through a constant that checks
/// // they are `Send`: one that is not is one error on the user's type, and an error type
/// // afterwards (no cascade); others are checked by such a constant beside the block, and those
/// // naming the actor's parameters in the methods
/// pub enum __CompaktorMessage {
///     Add(<u64 as Checked<{ assert_message_send::<u64>(); 0 }>>::Type, Option<ReplyTo<(), Infallible>>),
///     Total(..),
/// }
/// pub struct __CompaktorHandlers { .. }  // ActorRef<Counter> derefs to it
/// impl __CompaktorHandlers {
///     fn add(&self, n: u64) -> Tell<'_, Counter> { .. }
///     fn total(&self) -> Ask<'_, Counter, u64, Infallible> { .. }
/// }
/// /// (a list of the handler calls, shown on `Counter`'s rustdoc page)
/// impl Actor for Counter {
///     type Message = __CompaktorMessage;
///     type Handlers = __CompaktorHandlers;
///     const MAILBOX: Mailbox = Mailbox::bounded(64);
///     // plain handlers, called at once (no future); an `async` handler's message comes back
///     fn handle_now(&mut self, msg, ctx) -> Result<Outcome, Self::Message> {
///         match msg { Self::Message::Add(n, reply) => Ok(dispatch_now("add", reply, ..)), m => Err(m) }
///     }
///     // every handler; an `async` one is awaited here, then dispatched the same way
///     async fn handle(&mut self, msg, ctx) -> Outcome { match msg { .. } }
/// }
/// };
/// ```
/// The generated methods keep the handler's visibility and doc comments.
#[proc_macro_attribute]
pub fn actor(args: TokenStream, input: TokenStream) -> TokenStream {
    expand_actor(args.into(), input.into()).into()
}

fn expand_actor(args: TokenStream2, input: TokenStream2) -> TokenStream2 {
    let cx = Ctxt::new();
    let options = attr::ActorOptions::from_args(&cx, args);
    let item: Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(e) => {
            let _ = cx.check();
            let error = e.to_compile_error();
            return quote!(#error #input);
        }
    };
    let Item::Impl(item_impl) = item else {
        cx.error_spanned_by(
            not_an_impl_span(&item),
            "`#[actor]` goes on the `impl` block that holds the handlers: \
             `#[actor] impl Counter { .. }`",
        );
        let errors = cx.check().expect_err("an error was just reported");
        let errors = errors.to_compile_error();
        return quote!(#errors #item);
    };
    if let Some((_, path, _)) = &item_impl.trait_ {
        cx.error_spanned_by(
            path,
            "`#[actor]` goes on the inherent impl block with the handlers (`impl Counter { .. }`), \
             not on a trait impl",
        );
        let errors = cx.check().expect_err("an error was just reported");
        return fallback::fallback(&item_impl, None, errors);
    }
    let actor = ast::ActorImpl::from_syn(&cx, options, &item_impl);
    if let Some(actor) = &actor {
        check::check(&cx, actor);
    }
    match (cx.check(), actor) {
        (Ok(()), Some(actor)) => expand::expand(&actor),
        (Err(errors), actor) => fallback::fallback(&item_impl, actor.as_ref(), errors),
        (Ok(()), None) => unreachable!("from_syn reports why it built no model"),
    }
}

/// Where to point when `#[actor]` is on something else: its keyword and name.
fn not_an_impl_span(item: &Item) -> TokenStream2 {
    match item {
        Item::Struct(s) => {
            let (keyword, ident) = (&s.struct_token, &s.ident);
            quote!(#keyword #ident)
        }
        Item::Enum(e) => {
            let (keyword, ident) = (&e.enum_token, &e.ident);
            quote!(#keyword #ident)
        }
        Item::Fn(f) => {
            let (keyword, ident) = (&f.sig.fn_token, &f.sig.ident);
            quote!(#keyword #ident)
        }
        Item::Trait(t) => {
            let (keyword, ident) = (&t.trait_token, &t.ident);
            quote!(#keyword #ident)
        }
        _ => quote!(#item),
    }
}

/// Marks a method of an `#[actor]` impl block as a message handler. See [`actor`].
///
/// On its own (outside an `#[actor]` block) it is an error.
#[proc_macro_attribute]
pub fn handler(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced("handler", input)
}

/// Marks the start hook of an `#[actor]` impl block. See [`actor`].
#[proc_macro_attribute]
pub fn on_start(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced("on_start", input)
}

/// Marks the stop hook of an `#[actor]` impl block. See [`actor`].
#[proc_macro_attribute]
pub fn on_stop(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced("on_stop", input)
}

/// Marks the failure hook of an `#[actor]` impl block. See [`actor`].
#[proc_macro_attribute]
pub fn on_failure(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced("on_failure", input)
}

/// Marks the restart hook of an `#[actor]` impl block. See [`actor`].
#[proc_macro_attribute]
pub fn on_restart(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced("on_restart", input)
}

/// `#[actor]` removes its markers before they expand, so a marker that expands is misplaced.
fn misplaced(name: &str, input: TokenStream) -> TokenStream {
    let message = format!(
        "`#[{name}]` only works on a method written out in an `#[actor]` impl block; add \
         `#[actor]` above the `impl` block that holds this method (a method that a macro \
         produces inside the block is not seen by `#[actor]`: write it out, or have the macro \
         produce the whole `#[actor] impl` block)"
    );
    let error = syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
    let input = TokenStream2::from(input);
    quote!(#error #input).into()
}
