//! The macro's own error cases, checked without a compiler: each `checks/NAME.rs` is a user's
//! file with one `#[actor]` block that has mistakes, and `checks/NAME.errors` lists the errors
//! the macro must emit for it, one per line as `LINE:COLUMN: message` (the position of the span
//! each error points at, as rustc prints it).
//!
//! The block goes through the same entry point as a real expansion, and the `compile_error!`s
//! found in its output are what is compared: so an extra error, a lost one or an error that moved
//! off the user's tokens all fail here. What this cannot see is what rustc adds after ours (a
//! cascade from the generated code); the `ui` trybuild cases in `tests/` keep one case per
//! expansion path for that, and for every error that rustc itself reports.
//!
//! To add a case, write `checks/NAME.rs` and run
//! `COMPAKTOR_BLESS=1 cargo test -p compaktor-macros cases`, then read the `.errors` file it
//! wrote.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

/// Where the case files live.
fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checks")
}

/// Runs `#[actor(..)]` over every impl block in `source` that carries it, the way the compiler
/// would, and renders the errors in their output as the `.errors` file does.
fn errors_of(source: &str) -> String {
    let file = syn::parse_file(source).expect("a case file parses as Rust");
    let mut rendered = String::new();
    for item in file.items {
        let syn::Item::Impl(mut item) = item else {
            continue;
        };
        let Some(at) = item.attrs.iter().position(|a| a.path().is_ident("actor")) else {
            continue;
        };
        let args = match item.attrs.remove(at).meta {
            syn::Meta::List(list) => list.tokens,
            _ => TokenStream::new(),
        };
        let output = crate::expand_actor(args, item.into_token_stream());
        for (line, column, message) in compile_errors(output) {
            // rustc counts columns from 1; proc-macro2 from 0.
            writeln!(rendered, "{line}:{}: {message}", column + 1).expect("writing to a String");
        }
    }
    rendered
}

/// Every `compile_error!("..")` in `tokens` (at any depth), with the position its span starts at.
fn compile_errors(tokens: TokenStream) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident) if ident == "compile_error" => {
                let Some(TokenTree::Group(group)) = trees.get(i + 2) else {
                    continue;
                };
                let literal: syn::LitStr =
                    syn::parse2(group.stream()).expect("compile_error! takes one string");
                let start = ident.span().start();
                found.push((start.line, start.column, literal.value()));
            }
            TokenTree::Group(group) => found.extend(compile_errors(group.stream())),
            _ => {}
        }
    }
    found
}

#[test]
fn every_case_emits_exactly_its_errors_at_the_users_tokens() {
    let bless = std::env::var_os("COMPAKTOR_BLESS").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("the checks directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} cases found", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let source = std::fs::read_to_string(case).expect("a readable case");
        let found = errors_of(&source);
        let expected_path = case.with_extension("errors");
        if bless {
            std::fs::write(&expected_path, &found).expect("writing the .errors file");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .errors file", case.display()));
        assert!(
            !expected.is_empty(),
            "{}: a case expects errors",
            case.display()
        );
        if found != expected {
            failures.push(format!(
                "{}:\n  expected:\n{expected}  found:\n{found}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_error_is_found_with_its_position() {
    let found = errors_of(
        "struct Greeter;\n\
         #[actor]\n\
         impl Greeter {\n    #[handler]\n    fn greet(&mut self, name: &str) {}\n}\n",
    );
    assert_eq!(
        found,
        "5:31: handler arguments are moved into the message; take `String` instead of `&str`\n"
    );
}
