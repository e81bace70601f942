//! Error codes tell the truth (issue 15, item 3): a page too large, `first` with
//! `last`, or a bad filter is `BAD_USER_INPUT` naming the argument, on every
//! paginated field.

use serde_json::{Value, json};
use tessera_e2e::{TestApp, error_code_of};

use crate::scheduling::salon;

#[tokio::test]
async fn bad_page_arguments_are_bad_user_input_naming_the_argument() {
    let app = TestApp::spawn().await;
    let salon = salon(&app, "codes", 0).await;
    for (query, field) in [
        ("{ bookings(first: 101) { edges { cursor } } }", "first"),
        ("{ bookings(first: 5, last: 5) { edges { cursor } } }", "first"),
        ("{ providers(first: 101) { edges { cursor } } }", "first"),
        ("{ customers(last: 101) { edges { cursor } } }", "last"),
        ("{ bookings(after: \"not a cursor\", first: 5) { edges { cursor } } }", "after"),
    ] {
        let (_, body): (u16, Value) = app.post(&salon.owner, query, json!({})).await;
        assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{query}: {body}");
    }
}

/// How to reach one object of each type that has a paginated field, so the walk
/// below can ask that field with bad arguments. A new type with a connection must
/// be added here, or the walk fails naming it.
fn path_to_one(type_name: &str) -> Option<(&'static str, &'static str)> {
    Some(match type_name {
        "Query" => ("", ""),
        "Billing" => ("billing { ", " }"),
        "Customer" => ("customers(first: 1) { edges { node { ", " } } }"),
        "Group" => ("groups(first: 1) { edges { node { ", " } } }"),
        "Provider" => ("providers(first: 1) { edges { node { ", " } } }"),
        "Tenant" => ("currentTenant { ", " }"),
        _ => return None,
    })
}

/// Every field of `schema.graphql` that returns a connection, as (type, field).
fn paginated_fields() -> Vec<(String, String)> {
    let schema = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql")).unwrap();
    let mut owner = String::new();
    let mut fields = Vec::new();
    for line in schema.lines() {
        if let Some(rest) = line.strip_prefix("type ") {
            owner = rest.split([' ', '{']).next().unwrap_or_default().to_owned();
        } else if line.contains("Connection!") && line.contains("first: Int") && !owner.ends_with("Connection") {
            let name = line.trim().split('(').next().unwrap_or_default().to_owned();
            fields.push((owner.clone(), name));
        }
    }
    fields
}

#[tokio::test]
async fn every_paginated_field_refuses_an_oversized_page_and_first_with_last() {
    let app = TestApp::spawn().await;
    let salon = salon(&app, "walk", 0).await;
    app.ok(&salon.owner, "mutation { createGroup(input: {name: \"Front desk\"}) { id } }", json!({})).await;
    let fields = paginated_fields();
    assert!(fields.len() >= 20, "the schema walk found only {fields:?}");
    for (owner, field) in fields {
        let (open, close) = path_to_one(&owner).unwrap_or_else(|| panic!("add a path to one {owner} for {field}"));
        for (arguments, named) in [("first: 101", "first"), ("first: 2, last: 2", "first")] {
            let query = format!("{{ {open}{field}({arguments}) {{ __typename }}{close} }}");
            let (_, body): (u16, Value) = app.post(&salon.owner, &query, json!({})).await;
            assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{query}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], named, "{query}: {body}");
        }
    }
}

#[tokio::test]
async fn bad_filters_are_bad_user_input_naming_the_filter_field() {
    let app = TestApp::spawn().await;
    let salon = salon(&app, "filters", 0).await;
    for (query, field) in [
        ("{ bookings(filter: {providerId: \"nope\"}) { edges { cursor } } }", "providerId"),
        ("{ bookings(filter: {customerId: \"nope\"}) { edges { cursor } } }", "customerId"),
        (
            "{ bookings(filter: {from: \"2030-01-02T00:00:00Z\", to: \"2030-01-01T00:00:00Z\"}) { edges { cursor } } }",
            "to",
        ),
        (
            "{ auditLog(filter: {from: \"2030-01-02T00:00:00Z\", to: \"2030-01-02T00:00:00Z\"}) { edges { cursor } } }",
            "to",
        ),
        (
            "{ loginHistory(filter: {from: \"2030-01-02T00:00:00Z\", to: \"2030-01-01T00:00:00Z\"}) { edges { cursor } } }",
            "to",
        ),
        (
            "{ mySecurityEvents(filter: {from: \"2030-01-02T00:00:00Z\", to: \"2030-01-01T00:00:00Z\"}) { edges { cursor } } }",
            "to",
        ),
        (
            "{ securityEvents(filter: {from: \"2030-01-02T00:00:00Z\", to: \"2030-01-01T00:00:00Z\"}) { edges { cursor } } }",
            "to",
        ),
        (
            "{ providers(first: 1) { edges { node { bookings(from: \"2030-01-02T00:00:00Z\", to: \"2030-01-01T00:00:00Z\") { edges { cursor } } } } } }",
            "to",
        ),
    ] {
        let (_, body): (u16, Value) = app.post(&salon.owner, query, json!({})).await;
        assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{query}: {body}");
    }
    // A value of the wrong type never reaches a resolver: it is refused by validation.
    let (_, body): (u16, Value) =
        app.post(&salon.owner, "{ providers(active: \"yes\") { edges { cursor } } }", json!({})).await;
    assert_eq!(error_code_of(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
}

#[tokio::test]
async fn a_missing_or_mistyped_variable_is_a_client_error() {
    let app = TestApp::spawn().await;
    let salon = salon(&app, "variables", 0).await;
    let query = "query($id: ID!) { booking(id: $id) { id } }";
    let (_, body): (u16, Value) = app.post(&salon.owner, query, json!({})).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("id"), "{body}");
    // A value of the wrong type is refused while the request is validated.
    let (_, body): (u16, Value) = app.post(&salon.owner, query, json!({"id": {"nested": true}})).await;
    assert_eq!(error_code_of(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
}

#[tokio::test]
async fn an_error_inside_a_batched_load_keeps_its_code() {
    let app = TestApp::spawn().await;
    let salon = salon(&app, "loader-codes", 0).await;
    // A partner client that may read providers but not services: the services
    // under each provider come through a DataLoader, which must answer with the
    // domain's FORBIDDEN, not a server error.
    let partner = crate::live_rights::client_token(&app, &salon.owner, &["provider:read"]).await;
    let query = "{ providers { edges { node { name services { name } } } } }";
    let (_, body): (u16, Value) = app.post(&partner, query, json!({})).await;
    assert_eq!(error_code_of(&body), "FORBIDDEN", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("service:read"), "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["providers", "edges", 0, "node", "services"]), "{body}");
}
