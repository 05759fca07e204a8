//! Generates the `Actor` impl: the dispatch `match` from message variant to handler call, the
//! hooks, and the mailbox option.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};

use super::{Names, Plan, message, replace_self};
use crate::ast::{ActorImpl, ArgKind, Method, Output, compact};
use crate::attr::{MailboxOption, Marker};
use syn::ext::IdentExt;

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

    let doc = handlers_doc(actor, plans);

    quote! {
        #[doc = #doc]
        #[automatically_derived]
        impl #impl_generics ::compaktor::Actor for #self_ty #where_clause {
            type Message = #message #ty_generics;
            type Handlers = #handlers #ty_generics;
            #mailbox
            const HAS_START_HOOKS: bool = #has_start_hooks;
            const HAS_STOP_HOOK: bool = #has_stop_hook;

            #[allow(unused_variables, clippy::unit_arg, unreachable_patterns)]
            #[inline]
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

/// `__CompaktorMessage::Add(a0, reply) => dispatch_now("add", reply, Ok(<Counter>::add(self, a0)), ..),`
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
        ArgKind::Context { .. } if method.marker == Marker::Handler => quote!(__compaktor_ctx),
        ArgKind::Context { .. } => hook_param("ctx").into_token_stream(),
        ArgKind::StopReason => hook_param("reason").into_token_stream(),
        ArgKind::Failure => hook_param("failure").into_token_stream(),
        ArgKind::RestartInfo => hook_param("info").into_token_stream(),
    });
    let awaited = method
        .original
        .sig
        .asyncness
        .is_some()
        .then(|| quote!(.await));
    quote!(<#self_ty>::#ident(self, #(#args),*) #awaited)
}

/// A parameter of a generated hook: named as the trait names it, since rustdoc shows the hooks
/// on the actor's page, and resolved at the macro's own site (`mixed_site`), so no user token
/// sees it.
fn hook_param(name: &str) -> proc_macro2::Ident {
    proc_macro2::Ident::new(name, proc_macro2::Span::mixed_site())
}

fn hook_fn(actor: &ActorImpl<'_>, hook: &Method<'_>) -> TokenStream {
    let call = call(actor, hook, &[]);
    let ctx = hook_param("ctx");
    let reason = hook_param("reason");
    let failure = hook_param("failure");
    let info = hook_param("info");
    match hook.marker {
        Marker::OnStart => {
            // Named in a qualified path, a wrong return type is shown on the user's type.
            let returned = returned(actor, hook);
            quote! {
                #[allow(unused_variables)]
                fn on_start(
                    &mut self,
                    #ctx: &mut ::compaktor::Context<Self>,
                ) -> impl ::compaktor::__private::Future<
                    Output = ::compaktor::__private::Result<(), ::compaktor::StartError>,
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
                #ctx: &mut ::compaktor::Context<Self>,
                #reason: &::compaktor::StopReason,
            ) -> impl ::compaktor::__private::Future<Output = ()> + ::core::marker::Send {
                async move { #call }
            }
        },
        Marker::OnRestart => quote! {
            #[allow(unused_variables)]
            fn on_restart(
                &mut self,
                #ctx: &mut ::compaktor::Context<Self>,
                #info: &::compaktor::RestartInfo,
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
                    #ctx: &mut ::compaktor::Context<Self>,
                    #failure: &::compaktor::HandlerFailure,
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

/// The doc of the `Actor` impl, shown on the actor's page: what each handler is called as on an
/// `ActorRef`, linked to the handler's own docs where those are public (a link to a private or
/// `cfg`-gated item would warn).
fn handlers_doc(actor: &ActorImpl<'_>, plans: &[Plan<'_>]) -> String {
    let name = &actor.name;
    if plans.is_empty() {
        return format!(
            "`{name}` has no handlers: an `ActorRef<{name}>` only starts and stops it."
        );
    }
    let mut doc = format!(
        "Generated by `#[actor]`. An `ActorRef<{name}>` takes these calls, one per handler \
         (a tell is `.await`ed to enqueue it, an ask to get its reply):\n"
    );
    for plan in plans {
        let params: Vec<String> = plan
            .values
            .iter()
            .map(|(arg, ty)| format!("{}: {}", arg.unraw(), compact(ty)))
            .collect();
        let public = matches!(plan.vis, syn::Visibility::Public(_)) && plan.cfgs.is_empty();
        let call = format!("`{}({})`", plan.name, params.join(", "));
        let call = if public {
            format!("[{call}](Self::{})", plan.ident)
        } else {
            call
        };
        let kind = match &plan.method.output {
            Output::Unit => "a tell".to_owned(),
            Output::Value(ty) | Output::Result(ty) => format!("an ask for `{}`", compact(*ty)),
        };
        doc.push_str(&format!("\n- {call}: {kind}"));
    }
    doc
}

#[cfg(test)]
mod tests {
    use quote::quote;
    use syn::visit::{self, Visit};

    /// The generated `impl Actor for ..`, found in the macro's output.
    fn actor_impl(output: proc_macro2::TokenStream) -> syn::ItemImpl {
        struct Find(Option<syn::ItemImpl>);
        impl<'ast> Visit<'ast> for Find {
            fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
                if let Some((_, path, _)) = &item.trait_
                    && path.segments.last().is_some_and(|s| s.ident == "Actor")
                {
                    self.0 = Some(item.clone());
                }
                visit::visit_item_impl(self, item);
            }
        }
        let file: syn::File = syn::parse2(output).expect("the expansion parses");
        let mut find = Find(None);
        find.visit_file(&file);
        find.0.expect("an `impl Actor`")
    }

    #[test]
    fn the_actor_page_lists_the_handlers_and_hooks_show_plain_parameter_names() {
        let output = crate::expand_actor(
            quote!(),
            quote! {
                impl Counter {
                    #[handler] pub fn add(&mut self, n: u64, ctx: &mut Context<Self>) {}
                    #[handler] fn total(&self) -> u64 { 0 }
                    #[handler] pub fn parse(&self, text: String) -> Result<u32, ParseError> { Ok(0) }
                    #[on_start] fn start(&mut self, ctx: &mut Context<Self>) {}
                    #[on_stop] fn end(&mut self, reason: &StopReason, ctx: &mut Context<Self>) {}
                    #[on_restart] fn again(&mut self, info: &RestartInfo) {}
                    #[on_failure]
                    fn failed(&mut self, failure: &HandlerFailure) -> FailureAction {
                        FailureAction::Resume
                    }
                }
            },
        );
        let item = actor_impl(output);
        let doc: String = item
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .map(|a| match &a.meta {
                syn::Meta::NameValue(nv) => match &nv.value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) => s.value(),
                    _ => String::new(),
                },
                _ => String::new(),
            })
            .collect();
        assert!(
            doc.contains("\n- [`add(n: u64)`](Self::add): a tell"),
            "{doc}"
        );
        assert!(doc.contains("\n- `total()`: an ask for `u64`"), "{doc}");
        assert!(
            doc.contains(
                "\n- [`parse(text: String)`](Self::parse): an ask for `Result<u32, ParseError>`"
            ),
            "{doc}"
        );

        let mut hooks = 0;
        for impl_item in &item.items {
            let syn::ImplItem::Fn(f) = impl_item else {
                continue;
            };
            let name = f.sig.ident.to_string();
            if !name.starts_with("on_") {
                continue;
            }
            hooks += 1;
            for input in &f.sig.inputs {
                if let syn::FnArg::Typed(arg) = input {
                    let syn::Pat::Ident(p) = &*arg.pat else {
                        panic!("`{name}` has a parameter that is not a plain name")
                    };
                    assert!(
                        ["ctx", "reason", "info", "failure"]
                            .contains(&p.ident.to_string().as_str()),
                        "`{name}` shows the parameter `{}`",
                        p.ident
                    );
                }
            }
        }
        assert_eq!(hooks, 4);
    }
}
