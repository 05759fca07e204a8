//! The typed model of an `#[actor]` impl block: its handlers and hooks, each keeping the
//! `original` syn node for spans. Built here without judging; `check` judges, `expand` generates.

use quote::ToTokens;
use syn::{
    Attribute, FnArg, GenericArgument, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, PathArguments,
    ReturnType, Type,
};

use crate::attr::{ActorOptions, Marker};
use crate::ctxt::Ctxt;

pub(crate) struct ActorImpl<'a> {
    pub(crate) original: &'a ItemImpl,
    pub(crate) options: ActorOptions,
    /// The last path segment of the actor type: `Counter` in `impl Counter`.
    pub(crate) name: Ident,
    pub(crate) handlers: Vec<Method<'a>>,
    pub(crate) hooks: Vec<Method<'a>>,
    /// Markers written inside `#[cfg_attr(..)]`, which `#[actor]` cannot honour.
    pub(crate) conditional: Vec<(Marker, syn::Meta)>,
}

/// A marked method: a handler or a hook.
#[derive(Clone)]
pub(crate) struct Method<'a> {
    pub(crate) original: &'a ImplItemFn,
    pub(crate) marker: Marker,
    pub(crate) attr: &'a Attribute,
    pub(crate) args: Vec<Arg<'a>>,
    pub(crate) output: Output<'a>,
}

#[derive(Clone)]
pub(crate) struct Arg<'a> {
    pub(crate) pat: &'a Pat,
    pub(crate) ty: &'a Type,
    pub(crate) kind: ArgKind<'a>,
    /// `#[key]` on it: a consistent-hashing pool routes the message by this argument.
    pub(crate) key: Option<&'a syn::Attribute>,
}

#[derive(Clone)]
pub(crate) enum ArgKind<'a> {
    /// Moved into the message.
    Value,
    /// `&mut Context<X>` (or `&Context<X>`, an error): `X` is `actor`.
    Context {
        mutable: bool,
        actor: Option<&'a Type>,
    },
    /// `&StopReason`, for the stop hook.
    StopReason,
    /// `&HandlerFailure`, for the failure hook.
    Failure,
    /// `&RestartInfo`, for the restart hook.
    RestartInfo,
}

#[derive(Clone)]
pub(crate) enum Output<'a> {
    /// No return type, or `()`: calling it is a tell.
    Unit,
    /// Spelled `Result<..>` (also `io::Result<T>`): `Err` goes back to the asker.
    Result(&'a Type),
    /// Any other type: calling it is an ask.
    Value(&'a Type),
}

impl<'a> ActorImpl<'a> {
    pub(crate) fn from_syn(cx: &Ctxt, options: ActorOptions, item: &'a ItemImpl) -> Option<Self> {
        let name = match &*item.self_ty {
            Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.clone()),
            _ => None,
        };
        let Some(name) = name else {
            cx.error_spanned_by(
                &item.self_ty,
                "`#[actor]` needs a named struct or enum type: `#[actor] impl Counter { .. }`",
            );
            return None;
        };
        let mut handlers = Vec::new();
        let mut hooks = Vec::new();
        let mut conditional = Vec::new();
        for impl_item in &item.items {
            let ImplItem::Fn(method) = impl_item else {
                continue;
            };
            conditional.extend(method.attrs.iter().filter_map(Marker::in_cfg_attr));
            let mut markers = method
                .attrs
                .iter()
                .filter_map(|a| Some((Marker::of(a)?, a)));
            let Some((marker, attr)) = markers.next() else {
                continue;
            };
            for (other, extra) in markers {
                cx.error_spanned_by(
                    extra,
                    format!(
                        "a method is either a handler or one hook; remove `#[{}]` or `#[{}]`",
                        marker.name(),
                        other.name()
                    ),
                );
            }
            marker.check_no_args(cx, attr);
            let parsed = Method {
                original: method,
                marker,
                attr,
                args: method.sig.inputs.iter().filter_map(Arg::from_syn).collect(),
                output: Output::from_syn(&method.sig.output),
            };
            match marker {
                Marker::Handler => handlers.push(parsed),
                _ => hooks.push(parsed),
            }
        }
        Some(ActorImpl {
            original: item,
            options,
            name,
            handlers,
            hooks,
            conditional,
        })
    }

    pub(crate) fn hooks(&self, marker: Marker) -> impl Iterator<Item = &Method<'a>> {
        self.hooks.iter().filter(move |h| h.marker == marker)
    }
}

impl<'a> Arg<'a> {
    /// Typed arguments; the receiver is looked at by `check`.
    fn from_syn(input: &'a FnArg) -> Option<Self> {
        let FnArg::Typed(typed) = input else {
            return None;
        };
        let kind = match &*typed.ty {
            Type::Reference(r) => match last_segment(&r.elem) {
                Some(("Context", args)) => ArgKind::Context {
                    mutable: r.mutability.is_some(),
                    actor: args,
                },
                Some(("StopReason", _)) if r.mutability.is_none() => ArgKind::StopReason,
                Some(("HandlerFailure", _)) if r.mutability.is_none() => ArgKind::Failure,
                Some(("RestartInfo", _)) if r.mutability.is_none() => ArgKind::RestartInfo,
                _ => ArgKind::Value,
            },
            _ => ArgKind::Value,
        };
        Some(Arg {
            pat: &typed.pat,
            ty: &typed.ty,
            kind,
            key: typed.attrs.iter().find(|a| is_key(a)),
        })
    }
}

/// `#[key]` on an argument.
pub(crate) fn is_key(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("key")
}

/// The last segment's name of a path type, and its first generic type argument.
fn last_segment(ty: &Type) -> Option<(&'static str, Option<&Type>)> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let name = [
        "Context",
        "StopReason",
        "HandlerFailure",
        "RestartInfo",
        "Result",
    ]
    .into_iter()
    .find(|n| last.ident == n)?;
    let first_arg = match &last.arguments {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    };
    Some((name, first_arg))
}

impl<'a> Output<'a> {
    fn from_syn(output: &'a ReturnType) -> Self {
        match output {
            ReturnType::Default => Output::Unit,
            ReturnType::Type(_, ty) => match &**ty {
                Type::Tuple(t) if t.elems.is_empty() => Output::Unit,
                ty if matches!(last_segment(ty), Some(("Result", _))) => Output::Result(ty),
                ty => Output::Value(ty),
            },
        }
    }

    pub(crate) fn ty(&self) -> Option<&'a Type> {
        match self {
            Output::Unit => None,
            Output::Result(ty) | Output::Value(ty) => Some(ty),
        }
    }
}

/// Tokens as a person would write them (`Vec<u8>`, not `Vec < u8 >`).
pub(crate) fn compact<T: ToTokens>(ty: &T) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace("& ", "&")
        .replace(" ,", ",")
}
