//! Compile-time tests for `#[actor]` and `#[handler]`: `ui/pass` must compile and run, each
//! file in `ui/fail` must fail with the error in its `.stderr` (one mistake per file).
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
