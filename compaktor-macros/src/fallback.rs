//! What `#[actor]` emits when the block has mistakes: the errors, the user's impl with the
//! markers removed (so the methods still exist and an IDE keeps resolving them), and, when the
//! block could be modelled, the actor generated from its sound handlers and hooks only. The
//! type is then still an `Actor`, so its uses elsewhere (`ActorRef<T>`, `Context<T>`, spawns)
//! add no "not an actor" errors to the real ones.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemImpl;

use crate::ast::ActorImpl;
use crate::check;
use crate::expand::{self, variant_name, without_markers};

pub(crate) fn fallback(
    item: &ItemImpl,
    actor: Option<&ActorImpl<'_>>,
    errors: syn::Error,
) -> TokenStream {
    let errors = errors.to_compile_error();
    let generated = match actor {
        Some(actor) => expand::expand(&sound_parts(actor)),
        None => {
            let item = without_markers(item);
            quote!(#item)
        }
    };
    quote! {
        #errors
        #generated
    }
}

/// The actor without the methods that have mistakes, and without the second of two handlers
/// with the same message name or two hooks of one kind.
fn sound_parts<'a>(actor: &ActorImpl<'a>) -> ActorImpl<'a> {
    let mut variants = HashSet::new();
    let handlers = actor
        .handlers
        .iter()
        .filter(|h| check::is_sound(actor, h))
        .filter(|h| variants.insert(variant_name(&h.original.sig.ident).to_string()))
        .cloned()
        .collect();
    let mut markers: HashSet<&'static str> = HashSet::new();
    let hooks = actor
        .hooks
        .iter()
        .filter(|h| check::is_sound(actor, h))
        .filter(|h| markers.insert(h.marker.name()))
        .cloned()
        .collect();
    ActorImpl {
        original: actor.original,
        options: actor.options.clone(),
        name: actor.name.clone(),
        handlers,
        hooks,
        conditional: Vec::new(),
    }
}
