//! `#[actor(remote)]`: the wire side of the message enum. Each call is encoded without its
//! reply slot (handler index, then each argument, serde + postcard) and decoded with a fresh
//! one; replies are encoded with the handler's typed `Err`. A fingerprint of the handler set
//! lets two binaries refuse each other instead of mis-decoding. Nothing here is generated for
//! an actor without `remote`.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::{Names, Plan};
use crate::ast::ActorImpl;

pub(super) fn expand(actor: &ActorImpl<'_>, names: &Names, plans: &[Plan<'_>]) -> TokenStream {
    let Some(remote_span) = actor.options.remote else {
        return TokenStream::new();
    };
    if !actor.original.generics.params.is_empty() {
        return syn::Error::new(
            remote_span,
            "a remote actor cannot have generic parameters yet; remove `remote`, or make the \
             actor type concrete",
        )
        .to_compile_error();
    }
    let message = &names.message;
    let self_ty = &actor.original.self_ty;
    let private = &quote!(::compaktor::__private);

    // Each argument and reply type, checked at the user's type so that a type that is not
    // `Serialize + DeserializeOwned` is reported there, once, with a hint.
    let checks = plans.iter().flat_map(|plan| {
        let cfgs = &plan.cfgs;
        let args = plan.values.iter().map(|(_, ty)| ty.to_token_stream());
        let reply = plan.reply.asks.then(|| plan.reply.ok.clone());
        let err = plan.reply.is_result.then(|| plan.reply.err.clone());
        args.chain(reply).chain(err).map(move |ty| {
            let span = first_span(&ty);
            let assert = quote_spanned!(span=> #private::assert_remote_type::<#ty>());
            quote!(#(#cfgs)* const _: () = #assert;)
        })
    });

    let fingerprint_text = fingerprint_text(actor, plans);
    let handler_names = plans.iter().map(|plan| &plan.name);

    let encode_arms = plans.iter().enumerate().map(|(index, plan)| {
        let (variant, cfgs) = (&plan.variant, &plan.cfgs);
        let index = index as u32;
        let bindings: Vec<_> = (0..plan.values.len())
            .map(|i| format_ident!("__compaktor_v{}", i))
            .collect();
        let writes = plan.values.iter().zip(&bindings).map(|((_, ty), binding)| {
            let span = ty.span();
            quote_spanned!(span=> __compaktor_enc.arg::<#ty>(&#binding)?;)
        });
        let codec = codec(plan);
        quote! {
            #(#cfgs)* Self::#variant(#(#bindings,)* __compaktor_reply) => {
                let mut __compaktor_enc = #private::Encoder::new(__compaktor_out, #index);
                #[allow(clippy::redundant_closure_call)]
                let __compaktor_encoded = (|| -> #private::Result<(), #private::CodecError> {
                    #(#writes)*
                    #private::Result::Ok(())
                })();
                let __compaktor_reply = __compaktor_reply.map(#private::reply_slot::<#codec>);
                match __compaktor_encoded {
                    #private::Result::Ok(()) => #private::Result::Ok(__compaktor_reply),
                    #private::Result::Err(error) => #private::Result::Err(
                        #private::CallEncodeError { error, reply: __compaktor_reply },
                    ),
                }
            }
        }
    });

    let decode_arms = plans.iter().enumerate().map(|(index, plan)| {
        let (variant, cfgs) = (&plan.variant, &plan.cfgs);
        let index = index as u32;
        let bindings: Vec<_> = (0..plan.values.len())
            .map(|i| format_ident!("__compaktor_v{}", i))
            .collect();
        let reads = plan.values.iter().zip(&bindings).map(|((_, ty), binding)| {
            let span = ty.span();
            quote_spanned!(span=> let #binding = __compaktor_dec.arg::<#ty>()?;)
        });
        let codec = codec(plan);
        quote! {
            #(#cfgs)* #index => {
                #(#reads)*
                __compaktor_dec.finish()?;
                let (__compaktor_reply, __compaktor_waiter) = if __compaktor_ask {
                    let (reply, waiter) = #private::reply_waiter::<#codec>();
                    (#private::Option::Some(reply), #private::Option::Some(waiter))
                } else {
                    (#private::Option::None, #private::Option::None)
                };
                #private::Result::Ok((Self::#variant(#(#bindings,)* __compaktor_reply), __compaktor_waiter))
            }
        }
    });

    let encode_body = if plans.is_empty() {
        quote!(let _ = __compaktor_out; match self {})
    } else {
        quote!(match self { #(#encode_arms)* })
    };

    quote! {
        ::compaktor::__remote_items! {
            #(#checks)*

            #[automatically_derived]
            #[allow(clippy::type_complexity, clippy::needless_question_mark)]
            impl #private::RemoteMessage for #message {
                const FINGERPRINT: u64 = #private::fingerprint(#fingerprint_text);
                const HANDLERS: &'static [&'static str] = &[#(#handler_names),*];

                fn encode_call(
                    self,
                    __compaktor_out: &mut #private::Vec<u8>,
                ) -> #private::Result<
                    #private::Option<#private::Box<dyn #private::RemoteReply>>,
                    #private::CallEncodeError,
                > {
                    #encode_body
                }

                #[allow(unreachable_code, unused_mut)]
                fn decode_call(
                    __compaktor_bytes: &[u8],
                    __compaktor_ask: bool,
                ) -> #private::Result<
                    (Self, #private::Option<#private::ReplyWaiter>),
                    #private::CodecError,
                > {
                    let (mut __compaktor_dec, __compaktor_index) =
                        #private::Decoder::new(__compaktor_bytes)?;
                    let _ = (&mut __compaktor_dec, __compaktor_ask);
                    match __compaktor_index {
                        #(#decode_arms)*
                        __compaktor_other => #private::Result::Err(
                            #private::CodecError::UnknownHandler(__compaktor_other),
                        ),
                    }
                }
            }

            #[automatically_derived]
            impl #private::RemoteActor for #self_ty {}
        }
    }
}

/// How the reply of `plan` crosses the wire: a plain value, or a `Result` with a typed `Err`.
fn codec(plan: &Plan<'_>) -> TokenStream {
    let ok = &plan.reply.ok;
    if plan.reply.is_result {
        let err = &plan.reply.err;
        quote!(::compaktor::__private::ResultReply<#ok, #err>)
    } else {
        quote!(::compaktor::__private::ValueReply<#ok>)
    }
}

/// The text the fingerprint hashes: the actor's name, then each handler's name, argument
/// types and reply type, as written (token text, `Self` spelled out).
fn fingerprint_text(actor: &ActorImpl<'_>, plans: &[Plan<'_>]) -> String {
    let mut text = format!("{};", actor.name);
    for plan in plans {
        let args: Vec<String> = plan
            .values
            .iter()
            .map(|(_, ty)| ty.to_token_stream().to_string())
            .collect();
        let reply = plan
            .reply
            .returned
            .as_ref()
            .map_or_else(|| "()".to_owned(), |ty| ty.to_token_stream().to_string());
        text.push_str(&format!("{}({})->{};", plan.name, args.join(","), reply));
    }
    text
}

fn first_span(tokens: &TokenStream) -> proc_macro2::Span {
    tokens
        .clone()
        .into_iter()
        .next()
        .map_or_else(proc_macro2::Span::call_site, |t| t.span())
}
