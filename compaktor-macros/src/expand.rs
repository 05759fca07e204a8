//! Generation, orchestrated: the user's impl (markers removed), then the message enum
//! (`expand/message.rs`), the handler methods on `ActorRef` (`expand/client.rs`), the `Actor`
//! impl with its dispatch `match` (`expand/dispatch.rs`), and for `#[actor(remote)]` the wire
//! encoding (`expand/remote.rs`). Nothing here validates; `check` has.

mod client;
mod dispatch;
mod message;
mod remote;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, GenericArgument, GenericParam, Generics, Ident, ImplItem, ItemImpl, Pat,
    PathArguments, Type, Visibility, parse_quote,
};

use crate::ast::{ActorImpl, ArgKind, Method, Output};
use crate::attr::Marker;

/// The names of the generated items.
pub(crate) struct Names {
    pub(crate) message: Ident,
    pub(crate) handlers: Ident,
}

/// What the three generators need to know about one handler.
pub(crate) struct Plan<'a> {
    pub(crate) method: &'a Method<'a>,
    pub(crate) ident: &'a Ident,
    pub(crate) name: String,
    pub(crate) variant: Ident,
    pub(crate) vis: &'a Visibility,
    /// `#[doc]` and `#[cfg]` attributes, carried to the generated method.
    pub(crate) docs: Vec<&'a Attribute>,
    pub(crate) cfgs: Vec<&'a Attribute>,
    /// The arguments moved into the message: a name for the `ActorRef` method, and the type
    /// with `Self` spelled out.
    pub(crate) values: Vec<(Ident, Type)>,
    /// Which of `values` is the routing key (`#[key]`), if any.
    pub(crate) key: Option<usize>,
    pub(crate) reply: Reply,
    /// The types that cross threads (arguments, then the reply), checked `Send + 'static`.
    pub(crate) sent: Vec<Sent>,
}

/// A type that must be `Send + 'static`.
pub(crate) struct Sent {
    pub(crate) ty: TokenStream,
    /// Whether it names a parameter of the actor: then it can only be checked inside the impl,
    /// not in a constant (see `message::send_checks`).
    pub(crate) generic: bool,
}

pub(crate) struct Reply {
    /// Whether calling the method is an ask (else a tell).
    pub(crate) asks: bool,
    /// The type returned by the handler, `Self` spelled out.
    pub(crate) returned: Option<Type>,
    /// The reply and error types. For a `Result`, projections spanned over the user's `T` and
    /// `E`, so that a type error in them is shown there.
    pub(crate) ok: TokenStream,
    pub(crate) err: TokenStream,
    pub(crate) is_result: bool,
}

pub(crate) fn expand(actor: &ActorImpl<'_>) -> TokenStream {
    let names = Names {
        message: format_ident!("{}Message", actor.name),
        handlers: format_ident!("{}Handlers", actor.name),
    };
    let plans: Vec<Plan<'_>> = actor.handlers.iter().map(|h| plan(actor, h)).collect();
    let user_impl = without_markers(actor.original);
    let checks = message::send_checks(actor, &plans);
    let message = message::expand(actor, &names, &plans);
    let client = client::expand(actor, &names, &plans);
    let dispatch = dispatch::expand(actor, &names, &plans);
    let remote = remote::expand(actor, &names, &plans);
    quote! {
        #user_impl
        #checks
        #message
        #client
        #dispatch
        #remote
    }
}

fn plan<'a>(actor: &ActorImpl<'_>, method: &'a Method<'a>) -> Plan<'a> {
    let self_ty = &*actor.original.self_ty;
    let sig = &method.original.sig;
    let values: Vec<(Ident, Type)> = method
        .args
        .iter()
        .filter(|a| matches!(a.kind, ArgKind::Value))
        .enumerate()
        .map(|(i, arg)| (argument_name(arg.pat, i), replace_self(arg.ty, self_ty)))
        .collect();
    let key = method
        .args
        .iter()
        .filter(|a| matches!(a.kind, ArgKind::Value))
        .position(|a| a.key.is_some());
    let infallible = quote!(::compaktor::__private::Infallible);
    let reply = match &method.output {
        Output::Unit => Reply {
            asks: false,
            returned: None,
            ok: quote!(()),
            err: infallible,
            is_result: false,
        },
        Output::Value(ty) => {
            let ty = replace_self(ty, self_ty);
            Reply {
                asks: true,
                ok: ty.to_token_stream(),
                returned: Some(ty),
                err: infallible,
                is_result: false,
            }
        }
        Output::Result(original) => {
            let ty = replace_self(original, self_ty);
            let (ok_at, err_at) = result_arguments(original);
            Reply {
                asks: true,
                ok: split_result(&ty, "Ok", span_range(ok_at)),
                err: split_result(&ty, "Err", span_range(err_at)),
                returned: Some(ty),
                is_result: true,
            }
        }
    };
    let generics = &actor.original.generics;
    let mut sent: Vec<Sent> = values
        .iter()
        .map(|(_, ty)| Sent {
            ty: ty.to_token_stream(),
            generic: mentions_params(ty, generics),
        })
        .collect();
    if let Some(returned) = &reply.returned {
        sent.push(Sent {
            ty: reply.ok.clone(),
            generic: mentions_params(returned, generics),
        });
    }
    Plan {
        method,
        ident: &sig.ident,
        name: sig.ident.unraw().to_string(),
        variant: variant_name(&sig.ident),
        vis: &method.original.vis,
        docs: attrs_named(&method.original.attrs, "doc"),
        cfgs: attrs_named(&method.original.attrs, "cfg"),
        values,
        key,
        reply,
        sent,
    }
}

/// Whether `ty` names a type, const or lifetime parameter of the actor's impl.
fn mentions_params(ty: &Type, generics: &Generics) -> bool {
    struct Finder<'a> {
        params: Vec<&'a Ident>,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            if let Some(first) = path.segments.first()
                && self.params.contains(&&first.ident)
            {
                self.found = true;
            }
            visit::visit_path(self, path);
        }
        fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
            if self.params.contains(&&lifetime.ident) {
                self.found = true;
            }
        }
    }
    let params = generics
        .params
        .iter()
        .map(|p| match p {
            GenericParam::Type(t) => &t.ident,
            GenericParam::Const(c) => &c.ident,
            GenericParam::Lifetime(l) => &l.lifetime.ident,
        })
        .collect();
    let mut finder = Finder {
        params,
        found: false,
    };
    finder.visit_type(ty);
    finder.found
}

/// `T` and `E` of `Result<T, E>`; for an alias such as `io::Result<T>`, the whole type for what
/// is not written.
fn result_arguments(ty: &Type) -> (&dyn ToTokens, &dyn ToTokens) {
    let args: Vec<&Type> = match ty {
        Type::Path(p) => match p.path.segments.last().map(|s| &s.arguments) {
            Some(PathArguments::AngleBracketed(a)) => a
                .args
                .iter()
                .filter_map(|g| match g {
                    GenericArgument::Type(t) => Some(t),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    match args[..] {
        [ok, err] => (ok, err),
        [ok] => (ok, ty),
        _ => (ty, ty),
    }
}

/// `<#ty as SplitResult>::#part`, spanned from `first` to `last` (see [`span_range`]).
fn split_result(ty: &Type, part: &str, (first, last): (Span, Span)) -> TokenStream {
    let part = Ident::new(part, last);
    let open = quote_spanned!(first=> <);
    let rest = quote_spanned!(first=> as ::compaktor::__private::SplitResult>::);
    quote!(#open #ty #rest #part)
}

/// The spans of the first and last tokens of `tokens`. Generated tokens that start with the first
/// and end with the second make rustc underline all of `tokens` (spans cannot be joined on stable).
pub(crate) fn span_range(tokens: &dyn ToTokens) -> (Span, Span) {
    let trees: Vec<TokenTree> = tokens.to_token_stream().into_iter().collect();
    let first = match trees.first() {
        Some(TokenTree::Group(g)) => g.span_open(),
        Some(t) => t.span(),
        None => Span::call_site(),
    };
    let last = match trees.last() {
        Some(TokenTree::Group(g)) => g.span_close(),
        Some(t) => t.span(),
        None => first,
    };
    (first, last)
}

fn attrs_named<'a>(attrs: &'a [Attribute], name: &str) -> Vec<&'a Attribute> {
    attrs.iter().filter(|a| a.path().is_ident(name)).collect()
}

/// The user's name for an argument (`n` in `n: u64` or `mut n: u64`), or `argN`.
fn argument_name(pat: &Pat, index: usize) -> Ident {
    match pat {
        Pat::Ident(p) if p.subpat.is_none() => {
            let ident = p.ident.unraw();
            Ident::new_raw(&ident.to_string(), p.ident.span())
        }
        _ => format_ident!("arg{}", index),
    }
}

/// `tick_later` → `TickLater`.
pub(crate) fn variant_name(ident: &Ident) -> Ident {
    let camel: String = ident
        .unraw()
        .to_string()
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect();
    Ident::new(&camel, Span::call_site())
}

/// `Self` means the actor in the impl block, but the handler struct elsewhere: spell it out.
pub(crate) fn replace_self(ty: &Type, self_ty: &Type) -> Type {
    struct ReplaceSelf<'a>(&'a Type);
    impl VisitMut for ReplaceSelf<'_> {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::Path(p) = ty
                && p.qself.is_none()
                && p.path.segments.first().is_some_and(|s| s.ident == "Self")
            {
                let self_ty = self.0;
                if p.path.segments.len() == 1 {
                    *ty = self_ty.clone();
                } else {
                    let rest = p.path.segments.iter().skip(1);
                    *ty = parse_quote!(<#self_ty> #(:: #rest)*);
                }
                return;
            }
            visit_mut::visit_type_mut(self, ty);
        }
    }
    let mut ty = ty.clone();
    ReplaceSelf(self_ty).visit_type_mut(&mut ty);
    ty
}

/// The user's impl block without the marker attributes `#[actor]` consumed.
pub(crate) fn without_markers(item: &ItemImpl) -> ItemImpl {
    let mut item = item.clone();
    for impl_item in &mut item.items {
        if let ImplItem::Fn(method) = impl_item {
            method.attrs.retain(|a| Marker::of(a).is_none());
            for input in &mut method.sig.inputs {
                if let syn::FnArg::Typed(arg) = input {
                    arg.attrs.retain(|a| !crate::ast::is_key(a));
                }
            }
        }
    }
    item
}
