//! What `#[actor]` emits when the block has mistakes: the errors, plus the user's impl with the
//! markers removed, so the methods still exist and an IDE keeps resolving them.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemImpl;

use crate::expand::without_markers;

pub(crate) fn fallback(item: Option<&ItemImpl>, errors: syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let item = item.map(without_markers);
    quote! {
        #errors
        #item
    }
}
