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
    /// The types of `values` as the message enum holds them: checked to be `Send + 'static`
    /// (see [`checked`]) unless they name the actor's parameters.
    pub(crate) fields: Vec<TokenStream>,
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
    /// Whether the message enum names it through [`checked`] (see [`std_only`]), which checks
    /// it; else `message::send_checks` does.
    pub(crate) checked: bool,
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
    /// `ok` and `err` as the message enum and the dispatch name them: checked (see [`checked`])
    /// unless they name the actor's parameters.
    pub(crate) ok_checked: TokenStream,
    pub(crate) err_checked: TokenStream,
    pub(crate) is_result: bool,
}

/// The generated items live in an anonymous `const _: () = { .. };` block, so their names
/// cannot collide with the user's (nor with those of another actor of the same name in the
/// module); the impls inside it apply everywhere. Only a message enum the user named with
/// `#[actor(message = CounterMsg)]` is placed beside the impl, under that name.
pub(crate) fn expand(actor: &ActorImpl<'_>) -> TokenStream {
    let names = Names {
        message: actor
            .options
            .message
            .clone()
            .unwrap_or_else(|| format_ident!("__CompaktorMessage")),
        handlers: format_ident!("__CompaktorHandlers"),
    };
    let plans: Vec<Plan<'_>> = actor.handlers.iter().map(|h| plan(actor, h)).collect();
    let user_impl = without_markers(actor.original);
    let checks = message::send_checks(actor, &plans);
    let message = message::expand(actor, &names, &plans);
    let (named_message, hidden_message) = if actor.options.message.is_some() {
        (message, TokenStream::new())
    } else {
        (TokenStream::new(), message)
    };
    let client = client::expand(actor, &names, &plans);
    let dispatch = dispatch::expand(actor, &names, &plans);
    let remote = remote::expand(actor, &names, &plans);
    quote! {
        #user_impl
        #checks
        #named_message
        const _: () = {
            #hidden_message
            #client
            #dispatch
            #remote
        };
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
    let generics = &actor.original.generics;
    let fields = method
        .args
        .iter()
        .filter(|a| matches!(a.kind, ArgKind::Value))
        .zip(&values)
        .map(|(arg, (_, ty))| {
            if std_only(ty) {
                checked(ty, "assert_message_send", span_range(arg.ty))
            } else {
                ty.to_token_stream()
            }
        })
        .collect();
    let infallible = quote!(::compaktor::__private::Infallible);
    let reply = match &method.output {
        Output::Unit => Reply {
            asks: false,
            returned: None,
            ok: quote!(()),
            err: infallible.clone(),
            ok_checked: quote!(()),
            err_checked: infallible,
            is_result: false,
        },
        Output::Value(original) => {
            let ty = replace_self(original, self_ty);
            let ok_checked = if std_only(&ty) {
                checked(&ty, "assert_message_send", span_range(original))
            } else {
                ty.to_token_stream()
            };
            Reply {
                asks: true,
                ok: ty.to_token_stream(),
                returned: Some(ty),
                err: infallible.clone(),
                ok_checked,
                err_checked: infallible,
                is_result: false,
            }
        }
        Output::Result(original) => {
            let ty = replace_self(original, self_ty);
            let (ok_at, err_at) = result_arguments(original);
            let ok = split_result(&ty, "Ok", span_range(ok_at));
            let err = split_result(&ty, "Err", span_range(err_at));
            let (ok_checked, err_checked) = if std_only(&ty) {
                (
                    checked(&ok, "assert_message_send", span_range(ok_at)),
                    checked(&err, "assert_handler_error", span_range(err_at)),
                )
            } else {
                (ok.clone(), err.clone())
            };
            Reply {
                asks: true,
                ok,
                err,
                ok_checked,
                err_checked,
                returned: Some(ty),
                is_result: true,
            }
        }
    };
    let mut sent: Vec<Sent> = values
        .iter()
        .map(|(_, ty)| Sent {
            ty: ty.to_token_stream(),
            generic: mentions_params(ty, generics),
            checked: std_only(ty),
        })
        .collect();
    if let Some(returned) = &reply.returned {
        sent.push(Sent {
            ty: reply.ok.clone(),
            generic: mentions_params(returned, generics),
            checked: std_only(returned),
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
        fields,
        key,
        reply,
        sent,
    }
}

/// Whether `ty` is made of std types only (`Rc<u8>`, `Vec<String>`, `Box<dyn Error>`), and so
/// cannot hold this actor's messages. Only such types are named through [`checked`]: for a type
/// that may hold them (`ActorRef<Self>`, a struct with one), proving it `Send` needs the
/// message enum, whose field type would need the proof: a cycle. Those, and types naming the
/// actor's parameters, stay as written; a non-`Send` one is reported first by the
/// `assert_message_send` constant, then again where the enum is used.
///
/// The cycle in detail (rustc 1.95): to see whether the enum is `Send`, the trait solver
/// normalizes its field types, which evaluates the constant in `checked`; evaluating it checks
/// `T: Send`; for a `T` that reaches this actor's `ActorRef` (a struct holding `ActorRef<Self>`,
/// or an `ActorRef` of an actor whose messages hold one) that needs the enum `Send` again:
/// error E0391, even when every type is `Send`. The macro cannot see a user's struct, so it
/// cannot tell such types apart. What else was tried, and why it does not give one error:
/// - a projection `<T as SendOnly>::Type` with `impl<T: Send> SendOnly for T` has no cycle
///   (auto traits are coinductive), but the solver confirms the only impl and reports its unmet
///   `T: Send` at each use of the enum, as many errors as now: only a constant that fails to
///   evaluate turns the field into an error type that silences the later errors;
/// - checking the whole enum through a constant in `type Message`: the same cycle, through the
///   mailbox that `ActorRef` holds;
/// - an `ActorRef` that is `Send` whatever its messages: an `unsafe impl Send` (forbidden) or
///   a type-erased mailbox (an indirect call per message on the hot path).
fn std_only(ty: &Type) -> bool {
    const STD: &[&str] = &[
        "u8",
        "u16",
        "u32",
        "u64",
        "u128",
        "usize",
        "i8",
        "i16",
        "i32",
        "i64",
        "i128",
        "isize",
        "f32",
        "f64",
        "bool",
        "char",
        "str",
        "String",
        "Vec",
        "VecDeque",
        "Option",
        "Result",
        "Box",
        "Rc",
        "Arc",
        "Weak",
        "Cell",
        "RefCell",
        "Mutex",
        "RwLock",
        "MutexGuard",
        "HashMap",
        "HashSet",
        "BTreeMap",
        "BTreeSet",
        "BinaryHeap",
        "Duration",
        "Instant",
        "SystemTime",
        "PathBuf",
        "OsString",
        "CString",
        "Cow",
        "NonNull",
        "Error",
        "Fn",
        "FnMut",
        "FnOnce",
        "Send",
        "Sync",
        "Any",
    ];
    struct Std(bool);
    impl<'ast> Visit<'ast> for Std {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            let root = path.segments.first().map(|s| s.ident.to_string());
            let rooted = path.segments.len() == 1
                || matches!(root.as_deref(), Some("std" | "core" | "alloc"));
            let last = path.segments.last().map(|s| s.ident.to_string());
            if !rooted || !last.is_some_and(|l| STD.contains(&l.as_str())) {
                self.0 = false;
            }
            visit::visit_path(self, path);
        }
        fn visit_expr(&mut self, _: &'ast syn::Expr) {
            self.0 = false; // an array length
        }
    }
    let mut std = Std(true);
    std.visit_type(ty);
    std.0
}

/// `<#ty as Checked<{ #assertion::<#ty>(); 0 }>>::Type`: `#ty` itself, or an error type if the
/// assertion (`assert_message_send`, `assert_handler_error`) fails. The assertion is spanned
/// from `first` to `last` (the user's tokens), so a type that does not meet it is one error
/// there, with the hint of its `#[diagnostic::on_unimplemented]`; the error type then keeps the
/// message enum, the mailbox and the runtime from reporting it again.
fn checked(ty: &dyn ToTokens, assertion: &str, (first, last): (Span, Span)) -> TokenStream {
    let assertion = Ident::new(assertion, last);
    let open = quote_spanned!(first=> ::compaktor::__private::);
    let call = quote_spanned!(last=> ::<#ty>());
    quote! {
        <#ty as ::compaktor::__private::Checked<{ #open #assertion #call; 0 }>>::Type
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
            method
                .attrs
                .retain(|a| Marker::of(a).is_none() && Marker::in_cfg_attr(a).is_none());
            for input in &mut method.sig.inputs {
                if let syn::FnArg::Typed(arg) = input {
                    arg.attrs.retain(|a| !crate::ast::is_key(a));
                }
            }
        }
    }
    item
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::std_only;

    /// Only types that cannot hold the actor's own messages are checked through a constant
    /// (else proving them `Send` is a cycle, E0391).
    #[test]
    fn std_only_types_are_those_made_of_std_names() {
        assert!(std_only(&parse_quote!(Rc<u8>)));
        assert!(std_only(&parse_quote!(std::rc::Rc<Vec<String>>)));
        assert!(std_only(&parse_quote!(
            Box<dyn std::error::Error + Send + Sync>
        )));
        assert!(std_only(&parse_quote!((u8, Option<&'static str>))));
        assert!(!std_only(&parse_quote!(ActorRef<Drive>)));
        assert!(!std_only(&parse_quote!(Vec<Reading>)));
        assert!(!std_only(&parse_quote!(crate::Reading)));
        assert!(!std_only(&parse_quote!([u8; N])));
    }
}
