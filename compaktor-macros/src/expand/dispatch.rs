//! Generates the `Actor` impl: the dispatch `match` from message variant to handler call, the
//! hooks, and the mailbox option.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};

use super::{Names, Plan, message, replace_self};
use crate::ast::{ActorImpl, ArgKind, Method};
use crate::attr::{MailboxOption, Marker};

pub(super) fn expand(actor: &ActorImpl<'_>, names: &Names, plans: &[Plan<'_>]) -> TokenStream {
    let self_ty = &actor.original.self_ty;
    let (message, handlers) = (&names.message, &names.handlers);
    let (impl_generics, ty_generics, where_clause) = actor.original.generics.split_for_impl();

    let arms = plans.iter().map(|plan| arm(actor, names, plan, false));
    let now_arms = plans
        .iter()
        .filter(|plan| plan.method.original.sig.asyncness.is_none())
        .map(|plan| arm(actor, names, plan, true));
    let phantom_arm = message::has_phantom(&actor.original.generics).then(|| {
        quote!(#message::__CompaktorPhantom(__compaktor_never, _) => match __compaktor_never {},)
    });
    let mailbox = actor.options.mailbox.as_ref().map(|m| {
        let value = match m {
            MailboxOption::Bounded(n) => quote!(::compaktor::Mailbox::bounded(#n)),
            MailboxOption::Unbounded => quote!(::compaktor::Mailbox::unbounded()),
        };
        quote!(const MAILBOX: ::compaktor::Mailbox = #value;)
    });
    let hooks = [
        Marker::OnStart,
        Marker::OnStop,
        Marker::OnFailure,
        Marker::OnRestart,
    ]
    .into_iter()
    .filter_map(|marker| actor.hooks(marker).next().map(|hook| hook_fn(actor, hook)));
    let has_start_hooks = actor.hooks(Marker::OnStart).next().is_some()
        || actor.hooks(Marker::OnRestart).next().is_some();
    let has_stop_hook = actor.hooks(Marker::OnStop).next().is_some();

    quote! {
        #[automatically_derived]
        impl #impl_generics ::compaktor::Actor for #self_ty #where_clause {
            type Message = #message #ty_generics;
            type Handlers = #handlers #ty_generics;
            #mailbox
            const HAS_START_HOOKS: bool = #has_start_hooks;
            const HAS_STOP_HOOK: bool = #has_stop_hook;

            #[allow(unused_variables, clippy::unit_arg, unreachable_patterns)]
            fn handle_now(
                &mut self,
                __compaktor_message: Self::Message,
                __compaktor_ctx: &mut ::compaktor::Context<Self>,
            ) -> ::compaktor::__private::Result<::compaktor::__private::Outcome, Self::Message> {
                match __compaktor_message {
                    #(#now_arms)*
                    __compaktor_later => ::compaktor::__private::Result::Err(__compaktor_later),
                }
            }

            #[allow(unused_variables, clippy::unit_arg)]
            fn handle(
                &mut self,
                __compaktor_message: Self::Message,
                __compaktor_ctx: &mut ::compaktor::Context<Self>,
            ) -> impl ::compaktor::__private::Future<Output = ::compaktor::__private::Outcome>
                   + ::core::marker::Send
            {
                async move {
                    match __compaktor_message {
                        #(#arms)*
                        #phantom_arm
                    }
                }
            }

            #(#hooks)*
        }
    }
}

/// `CounterMessage::Add(a0, reply) => dispatch_now("add", reply, Ok(<Counter>::add(self, a0)), ..),`
/// for a plain handler (in `Ok(..)` if `now`, for `handle_now`). An `async` one awaits its call
/// first, in `handle`'s own future (no future of its own around it), then dispatches the result.
fn arm(actor: &ActorImpl<'_>, names: &Names, plan: &Plan<'_>, now: bool) -> TokenStream {
    let message = &names.message;
    let (variant, cfgs, name) = (&plan.variant, &plan.cfgs, &plan.name);
    let bindings: Vec<_> = (0..plan.values.len())
        .map(|i| format_ident!("__compaktor_arg{}", i))
        .collect();
    let call = call(actor, plan.method, &bindings);
    let err = &plan.reply.err_checked;
    let result = if plan.reply.is_result {
        quote!(::compaktor::__private::SplitResult::into_result(#call))
    } else {
        quote!(::compaktor::__private::Result::Ok::<_, #err>(#call))
    };
    // A bound error on `E` (not `Display`, ...) is reported on the user's `E`: `#err` is spanned
    // there, and `dispatch_now` itself has no bound on it.
    let handled = quote! {
        ::compaktor::__private::dispatch_now(
            #name,
            __compaktor_reply,
            __compaktor_result,
            ::compaktor::__private::handler_failure::<#err>,
        )
    };
    if plan.method.original.sig.asyncness.is_none() {
        let handled = quote!({
            let __compaktor_result = #result;
            #handled
        });
        let handled = if now {
            quote!(::compaktor::__private::Result::Ok(#handled))
        } else {
            handled
        };
        return quote! {
            #(#cfgs)*
            #message::#variant(#(#bindings,)* __compaktor_reply) => #handled,
        };
    }
    quote! {
        #(#cfgs)*
        #message::#variant(#(#bindings,)* __compaktor_reply) => {
            let __compaktor_result = #result;
            #handled
        }
    }
}

/// `<Counter>::add(self, __compaktor_arg0, __compaktor_ctx).await`: arguments in the user's
/// order, the context (and a hook's reason or failure) where the user put them.
fn call(actor: &ActorImpl<'_>, method: &Method<'_>, bindings: &[syn::Ident]) -> TokenStream {
    let self_ty = &actor.original.self_ty;
    let ident = &method.original.sig.ident;
    let mut values = bindings.iter();
    let args = method.args.iter().map(|arg| match arg.kind {
        ArgKind::Value => {
            let binding = values.next();
            quote!(#binding)
        }
        ArgKind::Context { .. } => quote!(__compaktor_ctx),
        ArgKind::StopReason => quote!(__compaktor_reason),
        ArgKind::Failure => quote!(__compaktor_failure),
        ArgKind::RestartInfo => quote!(__compaktor_info),
    });
    let awaited = method
        .original
        .sig
        .asyncness
        .is_some()
        .then(|| quote!(.await));
    quote!(<#self_ty>::#ident(self, #(#args),*) #awaited)
}

fn hook_fn(actor: &ActorImpl<'_>, hook: &Method<'_>) -> TokenStream {
    let call = call(actor, hook, &[]);
    match hook.marker {
        Marker::OnStart => {
            // Named in a qualified path, a wrong return type is shown on the user's type.
            let returned = returned(actor, hook);
            quote! {
                #[allow(unused_variables)]
                fn on_start(
                    &mut self,
                    __compaktor_ctx: &mut ::compaktor::Context<Self>,
                ) -> impl ::compaktor::__private::Future<
                    Output = ::compaktor::__private::Result<(), ::std::string::String>,
                > + ::core::marker::Send {
                    async move {
                        <#returned as ::compaktor::__private::HookResult>::into_start_result(#call)
                    }
                }
            }
        }
        Marker::OnStop => quote! {
            #[allow(unused_variables)]
            fn on_stop(
                &mut self,
                __compaktor_ctx: &mut ::compaktor::Context<Self>,
                __compaktor_reason: &::compaktor::StopReason,
            ) -> impl ::compaktor::__private::Future<Output = ()> + ::core::marker::Send {
                async move { #call }
            }
        },
        Marker::OnRestart => quote! {
            #[allow(unused_variables)]
            fn on_restart(
                &mut self,
                __compaktor_ctx: &mut ::compaktor::Context<Self>,
                __compaktor_info: &::compaktor::RestartInfo,
            ) -> impl ::compaktor::__private::Future<Output = ()> + ::core::marker::Send {
                async move { #call }
            }
        },
        Marker::OnFailure => {
            let returned = returned(actor, hook);
            quote! {
                #[allow(unused_variables)]
                fn on_failure(
                    &mut self,
                    __compaktor_ctx: &mut ::compaktor::Context<Self>,
                    __compaktor_failure: &::compaktor::HandlerFailure,
                ) -> impl ::compaktor::__private::Future<Output = ::compaktor::FailureAction>
                       + ::core::marker::Send {
                    async move {
                        <#returned as ::compaktor::__private::FailureHookResult>::into_action(#call)
                    }
                }
            }
        }
        Marker::Handler => TokenStream::new(),
    }
}

/// A hook's return type with `Self` spelled out, `()` if none.
fn returned(actor: &ActorImpl<'_>, hook: &Method<'_>) -> TokenStream {
    match hook.output.ty() {
        Some(ty) => replace_self(ty, &actor.original.self_ty).to_token_stream(),
        None => quote!(()),
    }
}
