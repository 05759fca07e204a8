//! `#[actor(remote)]`: the wire side of the message enum. Each call is encoded without its
//! reply slot (handler index, then each argument, serde + postcard) and decoded with a fresh
//! one; replies are encoded with the handler's typed `Err`. A fingerprint of the handler set
//! lets two binaries refuse each other instead of mis-decoding. Nothing here is generated for
//! an actor without `remote`.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};

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

    // One function per handler finds the codec of each argument, reply and error type, at
    // the user's type: a type without serde is reported there, once, with a hint.
    let codec_fns = plans.iter().map(|plan| {
        let cfgs = &plan.cfgs;
        let name = codec_fn(plan);
        let probe = |ty: &TokenStream, span: proc_macro2::Span| {
            quote_spanned!(span=> (&&#private::Probe::<#ty>::NEW).codec())
        };
        let mut types = Vec::new();
        let mut codecs = Vec::new();
        for (_, ty) in &plan.values {
            let ty = ty.to_token_stream();
            codecs.push(probe(&ty, first_span(&ty)));
            types.push(ty);
        }
        let ok = &plan.reply.ok;
        codecs.push(probe(ok, first_span(ok)));
        types.push(ok.clone());
        if plan.reply.is_result {
            let err = &plan.reply.err;
            codecs.push(probe(err, first_span(err)));
            types.push(err.clone());
        } else {
            codecs.push(quote!(#private::never_codec()));
            types.push(quote!(#private::Infallible));
        }
        quote! {
            #(#cfgs)*
            #[allow(clippy::type_complexity, non_snake_case)]
            fn #name() -> (#(#private::Codec<#types>,)*) {
                #[allow(unused_imports)]
                use #private::{ViaFallback as _, ViaSerde as _};
                (#(#codecs,)*)
            }
        }
    });

    let fingerprint_text = fingerprint_text(actor, plans);
    let handler_names = plans.iter().map(|plan| &plan.name);

    let encode_arms = plans.iter().enumerate().map(|(index, plan)| {
        let (variant, cfgs) = (&plan.variant, &plan.cfgs);
        let index = index as u32;
        let bindings: Vec<_> = (0..plan.values.len())
            .map(|i| format_ident!("__compaktor_v{}", i))
            .collect();
        let codecs: Vec<_> = (0..plan.values.len())
            .map(|i| format_ident!("__compaktor_c{}", i))
            .collect();
        let writes = codecs
            .iter()
            .zip(&bindings)
            .map(|(codec, binding)| quote!(__compaktor_enc.arg(#codec, &#binding)?;));
        let name = codec_fn(plan);
        quote! {
            #(#cfgs)* Self::#variant(#(#bindings,)* __compaktor_reply) => {
                let (#(#codecs,)* __compaktor_ok, __compaktor_err) = Self::#name();
                let mut __compaktor_enc = #private::Encoder::new(__compaktor_out, #index);
                #[allow(clippy::redundant_closure_call)]
                let __compaktor_encoded = (|| -> #private::Result<(), #private::CodecError> {
                    #(#writes)*
                    #private::Result::Ok(())
                })();
                let __compaktor_reply = __compaktor_reply.map(|reply| {
                    #private::reply_slot(reply, __compaktor_ok, __compaktor_err)
                });
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
        let codecs: Vec<_> = (0..plan.values.len())
            .map(|i| format_ident!("__compaktor_c{}", i))
            .collect();
        let reads = codecs.iter().zip(&bindings).map(|(codec, binding)| {
            quote!(let #binding = __compaktor_dec.arg(#codec)?;)
        });
        let name = codec_fn(plan);
        quote! {
            #(#cfgs)* #index => {
                let (#(#codecs,)* __compaktor_ok, __compaktor_err) = Self::#name();
                #(#reads)*
                __compaktor_dec.finish()?;
                let (__compaktor_reply, __compaktor_waiter) = if __compaktor_ask {
                    let (reply, waiter) = #private::reply_waiter(__compaktor_ok, __compaktor_err);
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
            #[automatically_derived]
            impl #message {
                #(#codec_fns)*
            }

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

/// The name of the function that finds the codecs of `plan`'s types.
fn codec_fn(plan: &Plan<'_>) -> syn::Ident {
    format_ident!("__compaktor_codecs_{}", plan.variant)
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
