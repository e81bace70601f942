//! Each customer's language (issue 22, item 7, in part): a business writes
//! to a customer in the language on their record (`es`, `pt-BR`), and in
//! its own locale when none is set; a tag that is not a language is
//! refused; only those who manage customers set it, in their own business.

use serde_json::json;
use tessera_e2e::TestApp;

use crate::scheduling::{BOOK, Salon, booking_input, pinned_app, salon};

const LANGUAGE: &str =
    "mutation($id: ID!, $l: String) { updateCustomer(id: $id, input: {language: $l}) { id language } }";

/// The subjects of the booking emails sent to `to`, oldest first.
async fn subjects_to(app: &TestApp, to: &str) -> Vec<String> {
    app.deliver().await;
    app.email.sent().into_iter().filter(|m| m.to == to).map(|m| m.subject).collect()
}

async fn book(app: &TestApp, salon: &Salon, at: &str) {
    app.ok(&salon.owner, BOOK, booking_input(salon, at)).await;
}

#[tokio::test]
async fn a_customer_is_written_to_in_their_language_or_the_businesss() {
    let app = pinned_app().await;
    let salon = salon(&app, "lang-salon", 0).await;
    book(&app, &salon, "2026-03-04T09:00:00Z").await;
    assert!(subjects_to(&app, "ana@example.com").await[0].starts_with("We have received your booking"));

    let set = app.ok(&salon.owner, LANGUAGE, json!({"id": salon.customer, "l": "es-MX"})).await;
    assert_eq!(set["updateCustomer"]["language"], "es-MX");
    book(&app, &salon, "2026-03-05T09:00:00Z").await;
    let subjects = subjects_to(&app, "ana@example.com").await;
    assert!(subjects.last().unwrap().starts_with("Hemos recibido tu reserva"), "{subjects:?}");

    // Cleared, the business's locale again; made with one, in it from the start.
    app.ok(&salon.owner, LANGUAGE, json!({"id": salon.customer, "l": null})).await;
    book(&app, &salon, "2026-03-06T09:00:00Z").await;
    assert!(subjects_to(&app, "ana@example.com").await.last().unwrap().starts_with("We have received"));
    let made = "mutation { createCustomer(input: {name: \"Lucía\", email: \"lucia@example.com\", language: \"es\"}) { id language } }";
    let lucia = app.ok(&salon.owner, made, json!({})).await["createCustomer"].clone();
    assert_eq!(lucia["language"], "es");
    let mut input = booking_input(&salon, "2026-03-09T09:00:00Z");
    input["input"]["customerId"] = lucia["id"].clone();
    app.ok(&salon.owner, BOOK, input).await;
    assert!(subjects_to(&app, "lucia@example.com").await[0].starts_with("Hemos recibido"));

    for bad in ["spanish", "e", "es_ES", "es-", "es-toolongsubtag"] {
        let code = app.error_code(&salon.owner, LANGUAGE, json!({"id": salon.customer, "l": bad})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{bad}");
    }
}

#[tokio::test]
async fn only_those_who_manage_customers_in_the_business_set_a_language() {
    let app = pinned_app().await;
    let salon = salon(&app, "lang-home", 0).await;
    let other = crate::scheduling::salon(&app, "lang-away", 0).await;
    let staff = app.add_member(&salon.owner, "desk@example.com", &["staff"]).await;
    let customer = app.add_member(&salon.owner, "ana.member@example.com", &["customer"]).await;
    let vars = json!({"id": salon.customer, "l": "es"});
    assert_eq!(app.error_code(&other.owner, LANGUAGE, vars.clone()).await, "NOT_FOUND");
    assert_eq!(app.error_code(&staff, LANGUAGE, vars.clone()).await, "FORBIDDEN");
    assert_eq!(app.error_code(&customer, LANGUAGE, vars).await, "FORBIDDEN");
    let read = "query($id: ID!) { node(id: $id) { ... on Customer { language } } }";
    assert!(app.ok(&salon.owner, read, json!({"id": salon.customer})).await["node"]["language"].is_null());
}
