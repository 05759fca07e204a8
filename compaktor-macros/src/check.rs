//! Judges the model from `ast`: every mistake a user can make in an `#[actor]` block gets an
//! error on its own tokens that says what to write instead. Builds no tokens.

use std::collections::HashMap;

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::visit::{self, Visit};
use syn::{GenericParam, Ident, Lifetime, Signature, Type, TypeImplTrait};

use crate::ast::{ActorImpl, Arg, ArgKind, Method, Output, compact};
use crate::attr::Marker;
use crate::ctxt::Ctxt;
use crate::expand::variant_name;

mod reserved;

pub(crate) fn check(cx: &Ctxt, actor: &ActorImpl<'_>) {
    let mut variants: HashMap<String, &Method<'_>> = HashMap::new();
    for handler in &actor.handlers {
        check_handler(cx, actor, handler);
        let variant = variant_name(&handler.original.sig.ident).to_string();
        if let Some(first) = variants.insert(variant, handler) {
            cx.error_spanned_by(
                &handler.original.sig.ident,
                format!(
                    "the handlers `{}` and `{}` have the same message name; rename one",
                    first.original.sig.ident, handler.original.sig.ident
                ),
            );
        }
    }
    for marker in [
        Marker::OnStart,
        Marker::OnStop,
        Marker::OnFailure,
        Marker::OnRestart,
    ] {
        let mut hooks = actor.hooks(marker);
        let Some(first) = hooks.next() else { continue };
        for extra in hooks {
            cx.error_spanned_by(
                extra.attr,
                format!(
                    "an actor has one `#[{}]` hook, and `{}` is already it; merge the two methods",
                    marker.name(),
                    first.original.sig.ident
                ),
            );
        }
    }
    for hook in &actor.hooks {
        check_hook(cx, actor, hook);
    }
    for (marker, meta) in &actor.conditional {
        let name = marker.name();
        cx.error_spanned_by(
            meta,
            format!(
                "`#[{name}]` cannot be behind `cfg_attr`: `#[actor]` reads it before `cfg_attr` \
                 applies; write `#[{name}]` itself, with `#[cfg(..)]` on the method to compile \
                 it only under a condition"
            ),
        );
    }
}

/// Whether a method has no mistake of its own (clashes with other methods aside), so that the
/// fallback can still generate it.
pub(crate) fn is_sound(actor: &ActorImpl<'_>, method: &Method<'_>) -> bool {
    let cx = Ctxt::new();
    match method.marker {
        Marker::Handler => check_handler(&cx, actor, method),
        _ => check_hook(&cx, actor, method),
    }
    cx.check().is_ok()
}

fn check_handler(cx: &Ctxt, actor: &ActorImpl<'_>, handler: &Method<'_>) {
    check_signature(cx, actor, handler);
    let own = own_lifetimes(handler);
    for arg in &handler.args {
        match &arg.kind {
            ArgKind::Context { .. } => check_context(cx, actor, arg),
            _ => check_value(cx, arg, &own),
        }
    }
    check_context_count(cx, handler);
    check_keys(cx, handler);
    check_output(cx, &handler.output, &own);
    let name = handler.original.sig.ident.unraw().to_string();
    if let Some(method) = reserved::shadowed_by(&name) {
        cx.error_spanned_by(
            &handler.original.sig.ident,
            format!(
                "handler `{name}` would be shadowed by `{method}` where it is called; rename \
                 it, e.g. `{}_{name}`",
                snake_case(&actor.name)
            ),
        );
    }
}

/// The lifetime parameters a method declares: already reported by `check_signature`, so their
/// uses in argument types are not reported again.
fn own_lifetimes<'a>(method: &Method<'a>) -> Vec<&'a Ident> {
    method
        .original
        .sig
        .generics
        .lifetimes()
        .map(|l| &l.lifetime.ident)
        .collect()
}

/// Receiver, generics and qualifiers, for handlers and hooks alike.
fn check_signature(cx: &Ctxt, actor: &ActorImpl<'_>, method: &Method<'_>) {
    let sig = &method.original.sig;
    let what = if method.marker == Marker::Handler {
        "a handler".to_owned()
    } else {
        format!("an `#[{}]` hook", method.marker.name())
    };
    match sig.receiver() {
        None => cx.error_spanned_by(
            &sig.ident,
            format!("{what} is a method: add `&mut self` (or `&self`) as its first argument"),
        ),
        Some(r) if !borrows_self(r, actor) && r.colon_token.is_some() => cx.error_spanned_by(
            r,
            format!(
                "{what} borrows the actor; write `&mut self` (or `&self`) instead of \
                 `self: {}`",
                compact(&r.ty)
            ),
        ),
        Some(r) if !borrows_self(r, actor) => cx.error_spanned_by(
            r,
            format!(
                "{what} borrows the actor, it cannot take it by value; write `&mut self` (or \
                 `&self`)"
            ),
        ),
        Some(_) => {}
    }
    let generics = &sig.generics;
    let only_lifetimes = generics
        .params
        .iter()
        .all(|p| matches!(p, GenericParam::Lifetime(_)));
    if !generics.params.is_empty() && only_lifetimes && generics.where_clause.is_none() {
        cx.error_spanned_by(
            generics,
            format!(
                "{what} cannot have lifetime parameters: its arguments are moved into a message \
                 that outlives the caller; remove `{}` and take owned data (`String`, not \
                 `&'a str`)",
                compact(generics)
            ),
        );
    } else if !generics.params.is_empty() || generics.where_clause.is_some() {
        cx.error_spanned_by(
            generics,
            format!(
                "{what} cannot have generic parameters of its own: its message type must be \
                 known; put the parameter on the actor instead (`impl<T: Send + 'static> \
                 Store<T>`)"
            ),
        );
    }
    qualifiers(cx, sig, &what);
}

/// `&self`, `&mut self`, and the same spelled out: `self: &Self`, `self: &mut Counter`.
fn borrows_self(receiver: &syn::Receiver, actor: &ActorImpl<'_>) -> bool {
    if receiver.colon_token.is_none() {
        return receiver.reference.is_some();
    }
    let Type::Reference(r) = &*receiver.ty else {
        return false;
    };
    match &*r.elem {
        Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self") => true,
        ty => {
            ty.to_token_stream().to_string() == actor.original.self_ty.to_token_stream().to_string()
        }
    }
}

fn qualifiers(cx: &Ctxt, sig: &Signature, what: &str) {
    if let Some(c) = &sig.constness {
        cx.error_spanned_by(c, format!("{what} cannot be `const`; remove it"));
    }
    if let Some(u) = &sig.unsafety {
        cx.error_spanned_by(
            u,
            format!("{what} cannot be `unsafe`: messages call it; remove `unsafe`"),
        );
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(abi, format!("{what} cannot have an ABI; remove it"));
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(v, format!("{what} cannot be variadic"));
    }
}

/// At most one context argument.
fn check_context_count(cx: &Ctxt, method: &Method<'_>) {
    let mut contexts = method
        .args
        .iter()
        .filter(|a| matches!(a.kind, ArgKind::Context { .. }));
    contexts.next();
    for extra in contexts {
        cx.error_spanned_by(
            extra.ty,
            "the context is passed once; remove this second `&mut Context<Self>` argument",
        );
    }
}

fn check_context(cx: &Ctxt, actor: &ActorImpl<'_>, arg: &Arg<'_>) {
    let ArgKind::Context { mutable, actor: of } = &arg.kind else {
        return;
    };
    if !mutable {
        cx.error_spanned_by(
            arg.ty,
            "the context is passed mutably; write `ctx: &mut Context<Self>`",
        );
    }
    let self_ty = actor.original.self_ty.to_token_stream().to_string();
    match of {
        Some(Type::Path(p)) if p.path.is_ident("Self") => {}
        Some(ty) if ty.to_token_stream().to_string() == self_ty => {}
        Some(ty) => cx.error_spanned_by(
            ty,
            format!(
                "this is the context of another actor; a handler of `{}` gets \
                 `&mut Context<Self>`",
                actor.name
            ),
        ),
        None => cx.error_spanned_by(arg.ty, "write the context as `&mut Context<Self>`"),
    }
}

/// An argument moved into the message: owned, no `impl Trait`, no borrowed lifetimes.
/// `&'static T` lives as long as any message: it is as good as owned.
fn is_static_ref(r: &syn::TypeReference) -> bool {
    r.mutability.is_none() && r.lifetime.as_ref().is_some_and(|l| l.ident == "static")
}

fn check_value(cx: &Ctxt, arg: &Arg<'_>, own: &[&Ident]) {
    if let Type::Reference(r) = arg.ty
        && !is_static_ref(r)
    {
        cx.error_spanned_by(
            arg.ty,
            format!(
                "handler arguments are moved into the message; take `{}` instead of `{}`",
                owned_hint(&r.elem),
                compact(arg.ty)
            ),
        );
        return;
    }
    check_type(cx, arg.ty, "argument", "an owned type", own);
}

fn check_output(cx: &Ctxt, output: &Output<'_>, own: &[&Ident]) {
    let Some(ty) = output.ty() else { return };
    if let Type::Reference(r) = ty
        && !is_static_ref(r)
    {
        cx.error_spanned_by(
            ty,
            format!(
                "a handler's reply is moved to the asker; return `{}` instead of `{}`",
                owned_hint(&r.elem),
                compact(ty)
            ),
        );
        return;
    }
    if let Output::Result(_) = output
        && let Some(err) = result_error(ty)
    {
        check_boxed_error(cx, err);
    }
    check_type(cx, ty, "return type", "a concrete type", own);
}

/// `E` in `Result<T, E>`, when it is written.
fn result_error(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    types.nth(1)
}

/// A handler's error crosses threads: a boxed `dyn Error` must be `Send + Sync`.
fn check_boxed_error(cx: &Ctxt, err: &Type) {
    let Type::Path(p) = err else { return };
    let Some(last) = p.path.segments.last() else {
        return;
    };
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return;
    };
    let Some(syn::GenericArgument::Type(Type::TraitObject(object))) = args.args.first() else {
        return;
    };
    if last.ident != "Box" {
        return;
    }
    let has = |name: &str| {
        object.bounds.iter().any(|b| match b {
            syn::TypeParamBound::Trait(t) => {
                t.path.segments.last().is_some_and(|s| s.ident == name)
            }
            _ => false,
        })
    };
    if has("Send") && has("Sync") {
        return;
    }
    let traits: Vec<String> = object
        .bounds
        .iter()
        .filter_map(|b| match b {
            syn::TypeParamBound::Trait(t) => Some(compact(&t.path)),
            _ => None,
        })
        .filter(|t| t != "Send" && t != "Sync")
        .collect();
    cx.error_spanned_by(
        err,
        format!(
            "a handler's error is sent to the asker on another thread, so a boxed error must be \
             `Send + Sync`; write `Box<dyn {} + Send + Sync>`",
            traits.join(" + ")
        ),
    );
}

/// `impl Trait` and borrowed lifetimes anywhere inside a message type; `own` are the method's
/// lifetime parameters, reported on their declaration.
fn check_type(cx: &Ctxt, ty: &Type, what: &str, instead: &str, own: &[&Ident]) {
    struct Finder<'c> {
        cx: &'c Ctxt,
        what: &'c str,
        instead: &'c str,
        own: &'c [&'c Ident],
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_type_impl_trait(&mut self, t: &'ast TypeImplTrait) {
            self.cx.error_spanned_by(
                t,
                format!(
                    "`impl Trait` cannot be a handler {}: the message enum needs one type; use \
                     {} or a `Box<dyn ..>`",
                    self.what, self.instead
                ),
            );
        }
        fn visit_lifetime(&mut self, l: &'ast Lifetime) {
            if l.ident != "static" && !self.own.contains(&&l.ident) {
                self.cx.error_spanned_by(
                    l,
                    format!(
                        "a handler {} cannot borrow: messages outlive the caller's stack; use \
                         owned data or `'static`",
                        self.what
                    ),
                );
            }
        }
        fn visit_type(&mut self, t: &'ast Type) {
            if let Some(inner) = cow_without_lifetime(t) {
                self.cx.error_spanned_by(
                    t,
                    format!(
                        "a handler {} cannot borrow, and `Cow` without a lifetime borrows; use \
                         `Cow<'static, {}>` or an owned type",
                        self.what,
                        compact(inner)
                    ),
                );
                return;
            }
            if let Type::Reference(r) = t
                && r.lifetime.is_none()
            {
                self.cx.error_spanned_by(
                    t,
                    format!(
                        "a handler {} cannot hold a reference; use `{}`",
                        self.what,
                        owned_hint(&r.elem)
                    ),
                );
                return;
            }
            visit::visit_type(self, t);
        }
    }
    Finder {
        cx,
        what,
        instead,
        own,
    }
    .visit_type(ty);
}

/// `T` in `Cow<T>`: its elided lifetime would make rustc suggest a lifetime on the actor.
fn cow_without_lifetime(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) if last.ident == "Cow" => Some(inner),
        _ => None,
    }
}

/// What to write instead of `&T`.
fn owned_hint(elem: &Type) -> String {
    match elem {
        Type::Path(p) if p.path.is_ident("str") => "String".to_owned(),
        Type::Slice(s) => format!("Vec<{}>", compact(&s.elem)),
        Type::TraitObject(_) => format!("Box<{}>", compact(elem)),
        other => compact(other),
    }
}

/// `LeftMotor` → `left_motor`.
fn snake_case(ident: &Ident) -> String {
    let mut snake = String::new();
    for (i, c) in ident.unraw().to_string().chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.extend(c.to_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

/// At most one `#[key]`, on a value argument, taking no options.
fn check_keys(cx: &Ctxt, handler: &Method<'_>) {
    let mut first: Option<&Arg<'_>> = None;
    for arg in handler.args.iter().filter(|a| a.key.is_some()) {
        let key = arg.key.expect("filtered on it");
        if !matches!(key.meta, syn::Meta::Path(_)) {
            cx.error_spanned_by(&key.meta, "`#[key]` takes no options; write `#[key]`");
        }
        if matches!(arg.kind, ArgKind::Context { .. }) {
            cx.error_spanned_by(
                key,
                "`#[key]` marks the argument a pool routes by; put it on a message argument, \
                 not on the context",
            );
        } else if first.is_some() {
            cx.error_spanned_by(
                key,
                "a handler routes by one `#[key]`; for several values, pass them as one tuple \
                 argument and mark that",
            );
        } else {
            first = Some(arg);
        }
    }
}

fn check_hook(cx: &Ctxt, actor: &ActorImpl<'_>, hook: &Method<'_>) {
    check_signature(cx, actor, hook);
    for arg in &hook.args {
        if let Some(key) = arg.key {
            cx.error_spanned_by(
                key,
                format!(
                    "`#[key]` marks a handler argument a pool routes by; a `#[{}]` hook takes no \
                     messages, so remove it",
                    hook.marker.name()
                ),
            );
        }
    }
    let name = hook.marker.name();
    let mut has_failure = false;
    for arg in &hook.args {
        match (&arg.kind, hook.marker) {
            (ArgKind::Context { .. }, _) => check_context(cx, actor, arg),
            (ArgKind::StopReason, Marker::OnStop) => {}
            (ArgKind::Failure, Marker::OnFailure) => has_failure = true,
            (ArgKind::RestartInfo, Marker::OnRestart) => {}
            _ => {
                let allowed = match hook.marker {
                    Marker::OnStop => "`ctx: &mut Context<Self>` and `reason: &StopReason`",
                    Marker::OnFailure => "`failure: &HandlerFailure` and `ctx: &mut Context<Self>`",
                    Marker::OnRestart => "`ctx: &mut Context<Self>` and `info: &RestartInfo`",
                    _ => "`ctx: &mut Context<Self>`",
                };
                cx.error_spanned_by(
                    arg.ty,
                    format!("`#[{name}]` takes no such argument; it may take {allowed}"),
                );
            }
        }
    }
    check_context_count(cx, hook);
    if let Some(Type::ImplTrait(t)) = hook.output.ty() {
        let instead = match hook.marker {
            Marker::OnStart => Some("`()` or `Result<(), E>`"),
            Marker::OnFailure => Some("`FailureAction`"),
            _ => None, // `#[on_stop]`, `#[on_restart]`: their return type is reported below
        };
        if let Some(instead) = instead {
            cx.error_spanned_by(
                t,
                format!("`#[{name}]` cannot return `impl Trait`; return {instead}"),
            );
        }
    }
    match hook.marker {
        Marker::OnFailure if !has_failure => cx.error_spanned_by(
            &hook.original.sig,
            "`#[on_failure]` decides about a failure; take `failure: &HandlerFailure` and \
             return a `FailureAction`",
        ),
        Marker::OnFailure if matches!(hook.output, Output::Unit) => cx.error_spanned_by(
            &hook.original.sig.ident,
            "`#[on_failure]` decides what happens next; return a `FailureAction` \
             (`-> FailureAction`, e.g. `FailureAction::Resume`)",
        ),
        Marker::OnStop | Marker::OnRestart if hook.output.ty().is_some() => cx.error_spanned_by(
            &hook.original.sig.output,
            format!("`#[{name}]` returns nothing; remove the return type"),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::check;
    use crate::ast::ActorImpl;
    use crate::attr::ActorOptions;
    use crate::ctxt::Ctxt;

    /// The errors `#[actor(#args)]` reports for `item`, in order.
    fn errors(args: TokenStream, item: TokenStream) -> Vec<String> {
        let item: syn::ItemImpl = syn::parse2(item).expect("an impl block");
        let cx = Ctxt::new();
        let options = ActorOptions::from_args(&cx, args);
        if let Some(actor) = ActorImpl::from_syn(&cx, options, &item) {
            check(&cx, &actor);
        }
        match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn self_type_receivers_are_borrows() {
        let found = errors(
            quote!(),
            quote! {
                impl Counter {
                    #[handler] fn add(self: &mut Self, n: u64) {}
                    #[handler] fn total(self: &Self) -> u64 { 0 }
                    #[handler] fn reset(self: &mut Counter) {}
                }
            },
        );
        assert_eq!(found, Vec::<String>::new());
    }

    #[test]
    fn other_typed_receivers_are_one_error_each() {
        let found = errors(
            quote!(),
            quote! {
                impl Counter {
                    #[handler] fn total(self: Box<Self>) -> u64 { 0 }
                    #[handler] fn pinned(self: Pin<&mut Self>) {}
                }
            },
        );
        assert_eq!(
            found,
            [
                "a handler borrows the actor; write `&mut self` (or `&self`) instead of \
                 `self: Box<Self>`",
                "a handler borrows the actor; write `&mut self` (or `&self`) instead of \
                 `self: Pin<&mut Self>`",
            ]
        );
    }

    #[test]
    fn a_boxed_error_must_be_send_and_sync() {
        let found = errors(
            quote!(),
            quote! {
                impl Parser {
                    #[handler] fn a(&self) -> Result<u8, Box<dyn Error>> { Ok(0) }
                    #[handler] fn b(&self) -> Result<u8, Box<dyn std::error::Error + Send>> { Ok(0) }
                    #[handler] fn c(&self) -> Result<u8, Box<dyn Error + Send + Sync>> { Ok(0) }
                    #[handler] fn d(&self) -> Result<u8, Box<dyn Error + Send + Sync + 'static>> { Ok(0) }
                    #[handler] fn e(&self) -> io::Result<u8> { Ok(0) }
                }
            },
        );
        assert_eq!(
            found,
            [
                "a handler's error is sent to the asker on another thread, so a boxed error must \
                 be `Send + Sync`; write `Box<dyn Error + Send + Sync>`",
                "a handler's error is sent to the asker on another thread, so a boxed error must \
                 be `Send + Sync`; write `Box<dyn std::error::Error + Send + Sync>`",
            ]
        );
    }

    #[test]
    fn a_marker_behind_cfg_attr_is_refused_and_other_cfg_attrs_are_kept() {
        let found = errors(
            quote!(),
            quote! {
                impl Counter {
                    #[cfg_attr(feature = "fast", handler)]
                    fn add(&mut self, n: u64) {}
                    #[cfg_attr(test, on_start)]
                    fn start(&mut self) {}
                    #[cfg_attr(test, allow(dead_code))]
                    #[handler]
                    fn total(&self) -> u64 { 0 }
                }
            },
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("`#[handler]` cannot be behind `cfg_attr`"));
        assert!(found[1].starts_with("`#[on_start]` cannot be behind `cfg_attr`"));
    }

    #[test]
    fn a_handler_named_like_a_method_it_would_be_hidden_by_is_refused_per_group() {
        let found = errors(
            quote!(),
            quote! {
                impl LeftMotor {
                    #[handler] fn broadcast(&mut self) {}
                    #[handler] fn stop(&mut self) {}
                    #[handler] fn clone_into(&mut self) {}
                    #[handler] fn r#type(&self) -> u8 { 0 }
                }
            },
        );
        assert_eq!(
            found,
            [
                "handler `broadcast` would be shadowed by `Pool::broadcast` where it is called; \
                 rename it, e.g. `left_motor_broadcast`",
                "handler `stop` would be shadowed by `ActorRef::stop` where it is called; rename \
                 it, e.g. `left_motor_stop`",
                "handler `clone_into` would be shadowed by `ToOwned::clone_into` where it is \
                 called; rename it, e.g. `left_motor_clone_into`",
            ]
        );
    }

    #[test]
    fn the_message_option_takes_one_type_name() {
        let cx = Ctxt::new();
        let options = ActorOptions::from_args(&cx, quote!(message = CounterMsg, mailbox = 4));
        cx.check().expect("valid options");
        assert_eq!(options.message.expect("a name").to_string(), "CounterMsg");

        let item = quote!(impl Counter {});
        assert_eq!(
            errors(quote!(message = "CounterMsg"), item.clone()),
            ["expected a type name for the message enum: `message = CounterMsg`"]
        );
        assert_eq!(
            errors(quote!(message = A, message = B), item),
            ["duplicate `message` option; give it once"]
        );
    }
}
