//! The README's description of each demo login is a tested fact (issue 15, item
//! 7): each claim is found word for word in the README, then run against the
//! seeded demo as that login.

use serde_json::{Value, json};
use tessera_api::demo::{DEMO_MEMBER_PASSWORD, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, DEMO_SLUG};
use tessera_e2e::{Auth, TestApp};

const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken user { id } } }";
const ME: &str = "{ me { roles { name } permissions } }";
const BOOKINGS: &str = "{ bookings { edges { node { id provider { name } customer { name } } } } }";
const HOURS: &str = "mutation($p: ID!) { setWorkingHours(providerId: $p, intervals: [{weekday: TUESDAY, startTime: \"10:00\", endTime: \"19:00\"}]) { id } }";
const WALK_IN: &str = "mutation { createCustomer(input: {name: \"Walk-in\"}) { id } }";

/// Checks that the README describes `email` with `claim`, word for word.
fn readme_says(email: &str, claim: &str) {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let line = format!("- `{email}`, {claim}");
    assert!(readme.contains(&line), "README.md no longer says: {line}");
}

struct Demo {
    app: TestApp,
    owner: Auth,
}

impl Demo {
    async fn start() -> Self {
        let app = TestApp::spawn_with(|c| c.seed_demo = Some(true)).await;
        let owner = sign_in(&app, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD).await;
        Self { app, owner }
    }

    async fn member(&self, email: &str) -> Auth {
        sign_in(&self.app, email, DEMO_MEMBER_PASSWORD).await
    }

    async fn roles_and_permissions(&self, who: &Auth) -> (Vec<String>, Vec<String>) {
        let me = self.app.ok(who, ME, json!({})).await;
        let names = |list: &Value, key: Option<&str>| -> Vec<String> {
            let items = list.as_array().unwrap().iter();
            items.map(|item| key.map_or(item, |k| &item[k]).as_str().unwrap().to_owned()).collect()
        };
        (names(&me["me"]["roles"], Some("name")), names(&me["me"]["permissions"], None))
    }

    /// The providers' names on the bookings `who` sees, sorted, and their ids.
    async fn bookings_seen(&self, who: &Auth) -> (Vec<String>, Vec<String>) {
        let data = self.app.ok(who, BOOKINGS, json!({})).await;
        let edges = data["bookings"]["edges"].as_array().unwrap();
        let mut providers: Vec<String> =
            edges.iter().map(|e| e["node"]["provider"]["name"].as_str().unwrap().to_owned()).collect();
        providers.sort();
        providers.dedup();
        (providers, edges.iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect())
    }

    async fn provider_id(&self, name: &str) -> String {
        let data = self.app.ok(&self.owner, "{ providers { edges { node { id name } } } }", json!({})).await;
        let edges = data["providers"]["edges"].as_array().unwrap();
        let found = edges.iter().find(|p| p["node"]["name"] == name).unwrap_or_else(|| panic!("no provider {name}"));
        found["node"]["id"].as_str().unwrap().to_owned()
    }
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> Auth {
    let payload = app.ok(&Auth::anonymous(), LOGIN, json!({"email": email, "password": password})).await;
    Auth::from_payload(&payload["login"]).in_tenant(DEMO_SLUG)
}

#[tokio::test]
async fn the_receptionist_sees_every_booking_and_manages_bookings_and_customers() {
    let email = "reception@demo-salon.test";
    readme_says(email, "a custom Receptionist role under Staff: sees every booking, manages bookings and customers.");
    let demo = Demo::start().await;
    let reception = demo.member(email).await;
    let (roles, permissions) = demo.roles_and_permissions(&reception).await;
    assert_eq!(roles, ["Receptionist"]);
    assert!(
        permissions.contains(&"booking:read".to_owned()),
        "managing bookings includes reading them: {permissions:?}"
    );

    let (_, every) = demo.bookings_seen(&demo.owner).await;
    let (_, seen) = demo.bookings_seen(&reception).await;
    assert!(!every.is_empty());
    assert_eq!(seen, every, "the receptionist sees every booking");
    let confirmed = demo
        .app
        .ok(&reception, "mutation($id: ID!) { confirmBooking(id: $id) { status } }", json!({"id": every[0]}))
        .await;
    assert_eq!(confirmed["confirmBooking"]["status"], "CONFIRMED");
    demo.app.ok(&reception, WALK_IN, json!({})).await;
}

#[tokio::test]
async fn a_stylist_sees_and_keeps_only_his_own_calendar() {
    let email = "marco@demo-salon.test";
    readme_says(email, "staff linked to his provider: sees his own bookings and keeps his own hours, nobody else's.");
    let demo = Demo::start().await;
    let marco = demo.member(email).await;
    assert_eq!(demo.roles_and_permissions(&marco).await.0, ["Staff"]);
    assert_eq!(demo.bookings_seen(&marco).await.0, ["Marco Bianchi"]);
    demo.app.ok(&marco, HOURS, json!({"p": demo.provider_id("Marco Bianchi").await})).await;
    assert_eq!(
        demo.app.error_code(&marco, HOURS, json!({"p": demo.provider_id("Bella Rossi").await})).await,
        "FORBIDDEN"
    );
    assert_eq!(demo.app.error_code(&marco, WALK_IN, json!({})).await, "FORBIDDEN");
}

#[tokio::test]
async fn a_stylist_covering_a_colleague_sees_and_keeps_both_calendars() {
    let email = "sofia@demo-salon.test";
    readme_says(
        email,
        "staff with a \"Calendar cover\" role granted on Marco's provider alone: sees her bookings and Marco's, and keeps both their hours.",
    );
    let demo = Demo::start().await;
    let sofia = demo.member(email).await;
    assert_eq!(demo.roles_and_permissions(&sofia).await.0, ["Staff", "Calendar cover"]);
    assert_eq!(demo.bookings_seen(&sofia).await.0, ["Marco Bianchi", "Sofia Chen"]);
    demo.app.ok(&sofia, HOURS, json!({"p": demo.provider_id("Sofia Chen").await})).await;
    demo.app.ok(&sofia, HOURS, json!({"p": demo.provider_id("Marco Bianchi").await})).await;
    assert_eq!(
        demo.app.error_code(&sofia, HOURS, json!({"p": demo.provider_id("Bella Rossi").await})).await,
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn a_customer_sees_only_her_own_and_books_for_herself() {
    let email = "ana@demo-salon.test";
    readme_says(
        email,
        "a customer linked to her customer record: `bookings` and `customers` list only hers, and she books with `createBooking(input: {serviceId, providerId, startsAt})`.",
    );
    let demo = Demo::start().await;
    let ana = demo.member(email).await;
    assert_eq!(demo.roles_and_permissions(&ana).await.0, ["Customer"]);
    let own = demo.app.ok(&ana, "{ customers { edges { node { name } } } }", json!({})).await;
    assert_eq!(own["customers"]["edges"], json!([{"node": {"name": "Ana López"}}]));
    let customers_seen = |data: &Value| -> Vec<String> {
        let edges = data["bookings"]["edges"].as_array().unwrap();
        edges.iter().map(|e| e["node"]["customer"]["name"].as_str().unwrap().to_owned()).collect()
    };
    let before = demo.app.ok(&ana, BOOKINGS, json!({})).await;
    assert!(customers_seen(&before).iter().all(|name| name == "Ana López"), "{before}");

    let services = demo.app.ok(&ana, "{ services { edges { node { id name } } } }", json!({})).await;
    let edges = services["services"]["edges"].as_array().unwrap();
    let haircut = &edges.iter().find(|s| s["node"]["name"] == "Women's Haircut").unwrap()["node"]["id"];
    let from = demo.app.now().date_naive() + chrono::Duration::days(1);
    let slots = demo
        .app
        .ok(
            &ana,
            "query($s: ID!, $from: NaiveDate!, $to: NaiveDate!) { availability(serviceId: $s, from: $from, to: $to, first: 1) { startsAt providerId } }",
            json!({"s": haircut, "from": from, "to": from + chrono::Duration::days(6)}),
        )
        .await;
    let slot = &slots["availability"][0];
    let book = "mutation($s: ID!, $p: ID!, $at: DateTime!) { createBooking(input: {serviceId: $s, providerId: $p, startsAt: $at}) { customer { name } } }";
    let booked = demo.app.ok(&ana, book, json!({"s": haircut, "p": slot["providerId"], "at": slot["startsAt"]})).await;
    assert_eq!(booked["createBooking"]["customer"]["name"], "Ana López");
    let after = demo.app.ok(&ana, BOOKINGS, json!({})).await;
    assert_eq!(customers_seen(&after).len(), customers_seen(&before).len() + 1);
    assert!(customers_seen(&after).iter().all(|name| name == "Ana López"), "{after}");
}
