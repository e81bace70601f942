//! `#[operations]`, for the impl blocks of the gateway's GraphQL operation
//! fields (`…Queries`, `…Mutations`, `…Subscription`).
//!
//! Each field says once who may call it, as the guard that enforces it:
//!
//! ```text
//! #[operations]
//! #[Object]
//! impl BookingQueries {
//!     #[access(RequiresOrOwn(Permission::BookingRead, Permission::BookingReadOwn))]
//!     async fn bookings(&self, …) -> … { … }
//! }
//! ```
//!
//! and the attribute becomes async-graphql's
//! `#[graphql(guard = "…", directive = …)]`: the guard runs before the resolver,
//! and the directive (`@public`, `@authenticated`, `@permission(name:)`,
//! `@ownPermission(name:)`) states the same rule in `schema.graphql`. The two
//! cannot disagree because neither is written by hand: a field without
//! `#[access]`, or with its own `guard =` or `directive =`, does not compile.
//! Federation entity resolvers and skipped methods are not fields a client
//! calls, so they declare nothing.
//!
//! The forms, with the guard types of `crates/api/src/graphql/mod.rs`:
//! `Public` (no guard), `SignedIn`, `InSession`, `Authenticated`
//! (`@authenticated`), `Requires(p)`, `RequiresOnSome(p)`, `RequiresInPerson(p)`
//! (`@permission`), `RequiresOrOwn(p, own)` (`@permission` and `@ownPermission`).

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{Attribute, Expr, ImplItem, ItemImpl, LitStr, parse_quote};

/// Turns each method's `#[access(…)]` into its guard and schema directive.
#[proc_macro_attribute]
pub fn operations(args: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let args = TokenStream::from(args);
    let item = TokenStream::from(item);
    let expanded = match args.is_empty() {
        true => expand_impl(item),
        false => Err(syn::Error::new_spanned(args, "#[operations] takes no arguments")),
    };
    expanded.unwrap_or_else(syn::Error::into_compile_error).into()
}

fn expand_impl(item: TokenStream) -> syn::Result<TokenStream> {
    let mut block: ItemImpl = syn::parse2(item)?;
    let mut errors: Option<syn::Error> = None;
    let mut keep = |result: syn::Result<()>| {
        if let Err(error) = result {
            match &mut errors {
                Some(errors) => errors.combine(error),
                None => errors = Some(error),
            }
        }
    };
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        keep(declare_access(&method.sig.ident, &mut method.attrs));
    }
    let errors = errors.map(syn::Error::into_compile_error);
    Ok(quote!(#block #errors))
}

/// Replaces the one `#[access(…)]` among `attrs` with async-graphql's attribute.
fn declare_access(field: &syn::Ident, attrs: &mut Vec<Attribute>) -> syn::Result<()> {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("graphql")) {
        if let Some(key) = graphql_keys(attr).into_iter().find(|key| key == "guard" || key == "directive") {
            return Err(syn::Error::new_spanned(
                attr,
                format!("`{key}` comes from #[access(…)]; write the field's access there only"),
            ));
        }
    }
    let declared: Vec<usize> = (0..attrs.len()).filter(|&i| attrs[i].path().is_ident("access")).collect();
    let hidden = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("graphql"))
        .any(|attr| graphql_keys(attr).iter().any(|key| key == "entity" || key == "skip"));
    match (declared.as_slice(), hidden) {
        ([], true) => Ok(()),
        ([], false) => Err(syn::Error::new_spanned(
            field,
            "every operation field declares who may call it: #[access(Public)], #[access(SignedIn)], \
             #[access(Requires(Permission::…))]…",
        )),
        ([at], _) => {
            let access: Expr = attrs.remove(*at).parse_args()?;
            let declared = graphql_arguments(&access)?;
            // async-graphql reads one `#[graphql(…)]` per method: join it.
            match attrs.iter_mut().find(|attr| attr.path().is_ident("graphql")) {
                Some(existing) => {
                    let given = &existing.meta.require_list()?.tokens;
                    *existing = parse_quote!(#[graphql(#given, #declared)]);
                }
                None => attrs.push(parse_quote!(#[graphql(#declared)])),
            }
            Ok(())
        }
        (_, _) => Err(syn::Error::new_spanned(field, "a field declares its access once")),
    }
}

/// The top-level keys of a `#[graphql(…)]` attribute (`guard`, `entity`…).
fn graphql_keys(attr: &Attribute) -> Vec<String> {
    let Ok(list) = attr.meta.require_list() else { return Vec::new() };
    let mut keys = Vec::new();
    let mut at_key = true;
    for token in list.tokens.clone() {
        match token {
            TokenTree::Ident(ident) if at_key => {
                keys.push(ident.to_string());
                at_key = false;
            }
            TokenTree::Punct(punct) if punct.as_char() == ',' => at_key = true,
            _ => at_key = false,
        }
    }
    keys
}

/// `guard = "…", directive = …` for one access declaration.
fn graphql_arguments(access: &Expr) -> syn::Result<TokenStream> {
    let (name, args): (String, Vec<&Expr>) = match access {
        Expr::Path(path) => (last_segment(&path.path), Vec::new()),
        Expr::Call(call) => match &*call.func {
            Expr::Path(path) => (last_segment(&path.path), call.args.iter().collect()),
            _ => return Err(unknown(access)),
        },
        _ => return Err(unknown(access)),
    };
    let permission = |p: &Expr| quote!(crate::graphql::permission::apply(#p.name().to_owned()));
    let own_permission = |p: &Expr| quote!(crate::graphql::own_permission::apply(#p.name().to_owned()));
    let directives: Vec<TokenStream> = match (name.as_str(), args.as_slice()) {
        ("Public", []) => vec![quote!(crate::graphql::public::apply())],
        ("SignedIn" | "InSession" | "Authenticated", []) => vec![quote!(crate::graphql::authenticated::apply())],
        ("Requires" | "RequiresOnSome" | "RequiresInPerson", [p]) => vec![permission(p)],
        ("RequiresOrOwn", [p, own]) => vec![permission(p), own_permission(own)],
        _ => return Err(unknown(access)),
    };
    let guard =
        (name != "Public").then(|| LitStr::new(&access.to_token_stream().to_string(), proc_macro2::Span::call_site()));
    let guard = guard.map(|guard| quote!(guard = #guard,));
    Ok(quote!(#guard #(directive = #directives),*))
}

fn last_segment(path: &syn::Path) -> String {
    path.segments.last().map(|segment| segment.ident.to_string()).unwrap_or_default()
}

fn unknown(access: &Expr) -> syn::Error {
    syn::Error::new_spanned(
        access,
        "unknown access: Public, SignedIn, InSession, Authenticated, Requires(p), RequiresOnSome(p), \
         RequiresInPerson(p) or RequiresOrOwn(p, own)",
    )
}

#[cfg(test)]
mod tests;
