//! The expansion, read back as text: each access form yields the guard and the
//! directives that say the same, and what would let them drift apart is refused.

use quote::quote;

use super::expand_impl;

fn expanded(item: proc_macro2::TokenStream) -> String {
    expand_impl(item).map(|tokens| tokens.to_string()).unwrap_or_else(|error| format!("refused: {error}"))
}

#[test]
fn a_permission_becomes_its_guard_and_its_directive() {
    let out = expanded(quote! {
        impl BookingQueries {
            #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
            #[graphql(complexity = "page_cost(first, last, child_complexity)")]
            async fn bookings(&self) -> u32 { 1 }
        }
    });
    assert!(
        out.contains(r#"guard = "RequiresOrOwn (Permission :: BookingRead , Permission :: BookingReadOwn)""#),
        "{out}"
    );
    assert!(
        out.contains("directive = crate :: graphql :: permission :: apply (Permission :: BookingRead . name ()"),
        "{out}"
    );
    assert!(
        out.contains("directive = crate :: graphql :: own_permission :: apply (Permission :: BookingReadOwn . name ()"),
        "{out}"
    );
    assert!(
        out.contains("# [graphql (complexity = \"page_cost(first, last, child_complexity)\" , guard ="),
        "one attribute, which async-graphql reads: {out}"
    );
    assert!(!out.contains("access"), "the declaration is consumed: {out}");
}

#[test]
fn each_form_names_its_directive() {
    for (access, guard, directive) in [
        (quote!(Public), None, "public"),
        (quote!(SignedIn), Some("SignedIn"), "authenticated"),
        (quote!(InSession), Some("InSession"), "authenticated"),
        (quote!(Authenticated), Some("Authenticated"), "authenticated"),
        (quote!(Requires(Permission::TenantManage)), Some("Requires (Permission :: TenantManage)"), "permission"),
        (quote!(RequiresOnSome(Permission::X)), Some("RequiresOnSome (Permission :: X)"), "permission"),
        (quote!(RequiresInPerson(Permission::X)), Some("RequiresInPerson (Permission :: X)"), "permission"),
    ] {
        let out = expanded(quote! { impl Q { #[access(#access)] async fn f(&self) -> u32 { 1 } } });
        assert!(out.contains(&format!("directive = crate :: graphql :: {directive} :: apply")), "{out}");
        match guard {
            Some(guard) => assert!(out.contains(&format!("guard = \"{guard}\"")), "{out}"),
            None => assert!(!out.contains("guard"), "a public field has no guard: {out}"),
        }
    }
}

#[test]
fn what_would_let_guard_and_directive_drift_apart_is_refused() {
    let undeclared = expanded(quote! { impl Q { async fn f(&self) -> u32 { 1 } } });
    assert!(undeclared.starts_with("refused") || undeclared.contains("compile_error"), "{undeclared}");
    assert!(undeclared.contains("declares who may call it"), "{undeclared}");
    let by_hand = expanded(quote! {
        impl Q { #[access(SignedIn)] #[graphql(guard = "Requires(Permission::X)")] async fn f(&self) -> u32 { 1 } }
    });
    assert!(by_hand.contains("comes from #[access"), "{by_hand}");
    let directive_by_hand = expanded(quote! {
        impl Q { #[graphql(directive = public::apply())] async fn f(&self) -> u32 { 1 } }
    });
    assert!(directive_by_hand.contains("comes from #[access"), "{directive_by_hand}");
    let twice = expanded(quote! { impl Q { #[access(SignedIn)] #[access(Public)] async fn f(&self) -> u32 { 1 } } });
    assert!(twice.contains("declares its access once"), "{twice}");
    let unknown = expanded(quote! { impl Q { #[access(Maybe(Permission::X))] async fn f(&self) -> u32 { 1 } } });
    assert!(unknown.contains("unknown access"), "{unknown}");
    let wrong_arity = expanded(
        quote! { impl Q { #[access(Requires(Permission::X, Permission::Y))] async fn f(&self) -> u32 { 1 } } },
    );
    assert!(wrong_arity.contains("unknown access"), "{wrong_arity}");
}

#[test]
fn entity_resolvers_and_skipped_methods_declare_nothing() {
    let out = expanded(quote! {
        impl Q {
            #[graphql(entity)] async fn find_user_by_id(&self) -> u32 { 1 }
            #[graphql(skip)] fn helper(&self) -> u32 { 1 }
        }
    });
    assert!(!out.contains("compile_error") && !out.contains("directive"), "{out}");
}
