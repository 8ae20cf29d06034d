//! Compile-fail cases: what `#[differentiable]` cannot differentiate gets a spanned error that
//! names the construct and says what to do instead. The `.stderr` snapshots are reviewed.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
