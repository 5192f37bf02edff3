//! The derives' errors, as the compiler shows them (`TRYBUILD=overwrite`
//! writes the expected `.stderr` files anew after a deliberate change).

#[test]
fn derive_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
