//! The options of `#[actor(...)]`, and the marker attributes (`#[handler]`, `#[on_start]`,
//! `#[on_stop]`, `#[on_failure]`, `#[on_restart]`) found on methods. Which methods carry them is decided in `ast`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, LitInt, Token};

use crate::ctxt::Ctxt;

/// `#[actor(mailbox = 64)]` / `#[actor(mailbox = unbounded)]`, `#[actor(message = CounterMsg)]`.
#[derive(Clone, Default)]
pub(crate) struct ActorOptions {
    pub(crate) mailbox: Option<MailboxOption>,
    /// A module-level name for the message enum, which is otherwise hidden.
    pub(crate) message: Option<Ident>,
}

#[derive(Clone)]
pub(crate) enum MailboxOption {
    Bounded(LitInt),
    Unbounded,
}

mod kw {
    syn::custom_keyword!(unbounded);
}

impl ActorOptions {
    pub(crate) fn from_args(cx: &Ctxt, args: TokenStream) -> Self {
        let mut options = ActorOptions::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("mailbox") {
                let value = meta.value()?;
                let mailbox = if value.peek(LitInt) {
                    let n: LitInt = value.parse()?;
                    if n.base10_parse::<usize>()? == 0 {
                        return Err(syn::Error::new(
                            n.span(),
                            "a mailbox holds at least one message; write `mailbox = 1` or more",
                        ));
                    }
                    MailboxOption::Bounded(n)
                } else if value.peek(kw::unbounded) {
                    value.parse::<kw::unbounded>()?;
                    MailboxOption::Unbounded
                } else {
                    return Err(value.error(
                        "expected a capacity or `unbounded`: `mailbox = 64` or `mailbox = unbounded`",
                    ));
                };
                if options.mailbox.is_some() {
                    return Err(meta.error("duplicate `mailbox` option; give it once"));
                }
                options.mailbox = Some(mailbox);
                Ok(())
            } else if meta.path.is_ident("message") {
                let value = meta.value()?;
                let name: Ident = value.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "expected a type name for the message enum: `message = CounterMsg`",
                    )
                })?;
                if options.message.is_some() {
                    return Err(meta.error("duplicate `message` option; give it once"));
                }
                options.message = Some(name);
                Ok(())
            } else {
                let name = meta
                    .path
                    .get_ident()
                    .map_or_else(|| "this".to_owned(), |i| format!("`{i}`"));
                Err(meta.error(format!(
                    "unknown `actor` option {name}; the options are `mailbox = 64`, \
                     `mailbox = unbounded` and `message = CounterMsg`"
                )))
            }
        });
        if let Err(e) = parser.parse2(args) {
            cx.syn_error(e);
        }
        options
    }
}

/// The markers `#[actor]` looks for on methods.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    Handler,
    OnStart,
    OnStop,
    OnFailure,
    OnRestart,
}

const MARKERS: [Marker; 5] = [
    Marker::Handler,
    Marker::OnStart,
    Marker::OnStop,
    Marker::OnFailure,
    Marker::OnRestart,
];

impl Marker {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Marker::Handler => "handler",
            Marker::OnStart => "on_start",
            Marker::OnStop => "on_stop",
            Marker::OnFailure => "on_failure",
            Marker::OnRestart => "on_restart",
        }
    }

    /// The marker an attribute is, by its last path segment (`handler`, `compaktor::handler`).
    pub(crate) fn of(attr: &Attribute) -> Option<Marker> {
        let last = attr.path().segments.last()?;
        MARKERS.into_iter().find(|m| last.ident == m.name())
    }

    /// A marker inside `#[cfg_attr(condition, .., handler, ..)]`: `#[actor]` sees the
    /// attribute before `cfg_attr` applies, so it cannot honour it (`check` reports it).
    pub(crate) fn in_cfg_attr(attr: &Attribute) -> Option<(Marker, syn::Meta)> {
        if !attr.path().is_ident("cfg_attr") {
            return None;
        }
        let metas = attr
            .parse_args_with(Punctuated::<syn::Meta, Token![,]>::parse_terminated)
            .ok()?;
        metas.into_iter().skip(1).find_map(|meta| {
            let last = meta.path().segments.last()?;
            let marker = MARKERS.into_iter().find(|m| last.ident == m.name())?;
            Some((marker, meta))
        })
    }

    /// Markers take no options.
    pub(crate) fn check_no_args(self, cx: &Ctxt, attr: &Attribute) {
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            cx.error_spanned_by(
                &attr.meta,
                format!(
                    "`#[{}]` takes no options; write `#[{}]`",
                    self.name(),
                    self.name()
                ),
            );
        }
    }
}
