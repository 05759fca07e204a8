//! Compile-time tests for `#[actor]` and `#[handler]`: `ui/pass` must compile and run, each
//! file in `ui/fail` must fail with the error in its `.stderr` (one mistake per file).
//!
//! The cases here are the errors rustc reports, and one case per expansion path of the macro's
//! own errors (no cascade after them). The rest of the macro's own errors are checked without a
//! compiler, in `compaktor-macros/checks` (see CONTRIBUTING.md).
//!
//! The `.stderr` files are made with the toolchain pinned in `rust-toolchain.toml`; after a
//! compiler or diagnostic change, regenerate them with
//! `TRYBUILD=overwrite cargo test -p compaktor-tests --test ui` and read every diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
