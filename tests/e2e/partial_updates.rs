//! Updates change only what they name (issue 15, item 2): for every `update…`
//! mutation an omitted field survives, an explicit `null` clears a field that may
//! be empty, and `null` for one that may not is refused naming it.

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp, error_code_of};

use crate::scheduling::salon;

/// Runs `mutation` (the document after `$input: `) with `$id` and `$input` and
/// answers the changed object.
async fn update(app: &TestApp, auth: &Auth, mutation: &str, id: &str, input: Value) -> Value {
    let field = mutation.split_once("{ ").unwrap().1.split('(').next().unwrap().trim();
    let document = format!("mutation($id: ID!, $input: {mutation}");
    app.ok(auth, &document, json!({"id": id, "input": input})).await[field].clone()
}

/// Asserts that `null` for a field that cannot be empty is BAD_USER_INPUT naming it.
async fn refuses_null(app: &TestApp, auth: &Auth, mutation: &str, id: &str, field: &str) {
    let document = format!("mutation($id: ID!, $input: {mutation}");
    let (_, body): (u16, Value) = app.post(auth, &document, json!({"id": id, "input": {field: null}})).await;
    assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{mutation} {field}: null: {body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
}

#[tokio::test]
async fn update_tenant_keeps_the_settings_it_does_not_name() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("partial-tenant").await;
    let settings = "bookingReminderMinutes activityRetentionDays slotStepMinutes currency bookingHorizonDays";
    let change = format!(
        "mutation($input: UpdateTenantInput!) {{ updateTenant(input: $input) {{ name settings {{ {settings} }} }} }}"
    );
    app.ok(
        &owner,
        &change,
        json!({"input": {"settings": {"bookingReminderMinutes": 60, "activityRetentionDays": 400}}}),
    )
    .await;

    let changed = app.ok(&owner, &change, json!({"input": {"settings": {"slotStepMinutes": 30}}})).await;
    let kept = &changed["updateTenant"]["settings"];
    assert_eq!(kept["slotStepMinutes"], 30);
    assert_eq!(kept["bookingReminderMinutes"], 60, "an omitted setting was reset: {changed}");
    assert_eq!(kept["activityRetentionDays"], 400, "an omitted setting was reset: {changed}");
    assert_eq!(kept["bookingHorizonDays"], 90);

    let renamed = app.ok(&owner, &change, json!({"input": {"name": "Renamed"}})).await;
    assert_eq!(renamed["updateTenant"]["settings"], *kept, "{renamed}");

    let cleared = app.ok(&owner, &change, json!({"input": {"settings": {"activityRetentionDays": null}}})).await;
    assert_eq!(cleared["updateTenant"]["settings"]["activityRetentionDays"], Value::Null);
    assert_eq!(cleared["updateTenant"]["settings"]["bookingReminderMinutes"], 60);

    for (input, field) in [
        (json!({"name": null}), "name"),
        (json!({"settings": {"slotStepMinutes": null}}), "settings.slotStepMinutes"),
        (json!({"settings": {"bookingHorizonDays": -1}}), "settings.bookingHorizonDays"),
    ] {
        let (_, body): (u16, Value) = app.post(&owner, &change, json!({"input": input})).await;
        assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let after = app.ok(&owner, "{ currentTenant { name settings { bookingReminderMinutes } } }", json!({})).await;
    assert_eq!(after["currentTenant"]["name"], "Renamed", "a refused change lost nothing: {after}");
    assert_eq!(after["currentTenant"]["settings"]["bookingReminderMinutes"], 60);
}

#[tokio::test]
async fn update_customer_provider_service_and_addon_keep_what_they_do_not_name() {
    let app = TestApp::spawn().await;
    let salon = salon(&app, "partial-catalog", 10).await;
    let owner = &salon.owner;
    let customer = "UpdateCustomerInput!) { updateCustomer(id: $id, input: $input) { name email phone notes } }";
    update(&app, owner, customer, &salon.customer, json!({"notes": "Allergic to latex"})).await;
    let changed = update(&app, owner, customer, &salon.customer, json!({"phone": "+34611000000"})).await;
    assert_eq!(
        changed,
        json!({"name": "Ana López", "email": "ana@example.com", "phone": "+34611000000", "notes": "Allergic to latex"})
    );
    let cleared = update(&app, owner, customer, &salon.customer, json!({"notes": null})).await;
    assert_eq!(cleared["notes"], Value::Null);
    assert_eq!(cleared["email"], "ana@example.com");
    refuses_null(&app, owner, customer, &salon.customer, "name").await;

    let provider = "UpdateProviderInput!) { updateProvider(id: $id, input: $input) { name title phone type active } }";
    let changed = update(&app, owner, provider, &salon.provider, json!({"name": "Maria G."})).await;
    assert_eq!(
        changed,
        json!({"name": "Maria G.", "title": "Senior Stylist", "phone": "+34600111222", "type": "EMPLOYEE", "active": true})
    );
    let cleared = update(&app, owner, provider, &salon.provider, json!({"title": null})).await;
    assert_eq!((cleared["title"].clone(), cleared["phone"].clone()), (Value::Null, json!("+34600111222")));
    refuses_null(&app, owner, provider, &salon.provider, "active").await;

    let service = "UpdateServiceInput!) { updateService(id: $id, input: $input) { name description durationMinutes bufferAfterMinutes price { amountMinor currency } } }";
    update(&app, owner, service, &salon.service, json!({"description": "Wash, cut and style"})).await;
    let changed = update(&app, owner, service, &salon.service, json!({"priceMinor": 8000})).await;
    assert_eq!(changed["durationMinutes"], 60, "{changed}");
    assert_eq!(changed["bufferAfterMinutes"], 10, "an omitted buffer was reset: {changed}");
    assert_eq!(changed["description"], "Wash, cut and style");
    assert_eq!(changed["price"]["amountMinor"], 8000);
    let cleared = update(&app, owner, service, &salon.service, json!({"description": null})).await;
    assert_eq!((cleared["description"].clone(), cleared["bufferAfterMinutes"].clone()), (Value::Null, json!(10)));
    refuses_null(&app, owner, service, &salon.service, "durationMinutes").await;

    let addon = "UpdateAddonInput!) { updateAddon(id: $id, input: $input) { name priceMinor durationMinutes active } }";
    let changed = update(&app, owner, addon, &salon.addon, json!({"priceMinor": 4500})).await;
    assert_eq!(
        changed,
        json!({"name": "Olaplex Treatment", "priceMinor": 4500, "durationMinutes": 20, "active": true})
    );
    refuses_null(&app, owner, addon, &salon.addon, "name").await;
}

#[tokio::test]
async fn update_group_role_and_webhook_endpoint_keep_what_they_do_not_name() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("partial-access").await;
    let group = app
        .ok(
            &owner,
            "mutation { createGroup(input: {name: \"Front desk\", description: \"Reception staff\"}) { id } }",
            json!({}),
        )
        .await["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let group_update = "UpdateGroupInput!) { updateGroup(id: $id, input: $input) { name description } }";
    let changed = update(&app, &owner, group_update, &group, json!({"name": "Reception"})).await;
    assert_eq!(changed, json!({"name": "Reception", "description": "Reception staff"}));
    let cleared = update(&app, &owner, group_update, &group, json!({"description": null})).await;
    assert_eq!(cleared, json!({"name": "Reception", "description": null}));
    refuses_null(&app, &owner, group_update, &group, "name").await;

    let role = app
        .ok(
            &owner,
            "mutation { createRole(input: {name: \"Cover\", description: \"Covers the desk\", permissions: [\"booking:read\"]}) { id } }",
            json!({}),
        )
        .await["createRole"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let role_update = "UpdateRoleInput!) { updateRole(id: $id, input: $input) { name description permissions } }";
    let changed = update(&app, &owner, role_update, &role, json!({"name": "Desk cover"})).await;
    assert_eq!(
        changed,
        json!({"name": "Desk cover", "description": "Covers the desk", "permissions": ["booking:read"]})
    );
    refuses_null(&app, &owner, role_update, &role, "name").await;
    refuses_null(&app, &owner, role_update, &role, "permissions").await;

    let endpoint = app
        .ok(
            &owner,
            "mutation { createWebhookEndpoint(input: {url: \"http://127.0.0.1:9/hook\", description: \"CRM\", topics: [\"booking.created\"], active: false}) { endpoint { id } } }",
            json!({}),
        )
        .await["createWebhookEndpoint"]["endpoint"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let endpoint_update = "UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { url description topics active } }";
    let changed = update(&app, &owner, endpoint_update, &endpoint, json!({"description": "CRM sync"})).await;
    assert_eq!(
        changed,
        json!({"url": "http://127.0.0.1:9/hook", "description": "CRM sync", "topics": ["booking.created"], "active": false}),
        "an omitted `active` switched a paused endpoint back on"
    );
    let all_topics = update(&app, &owner, endpoint_update, &endpoint, json!({"topics": null})).await;
    assert_eq!(all_topics["topics"], json!([]));
    refuses_null(&app, &owner, endpoint_update, &endpoint, "url").await;
}

#[tokio::test]
async fn parallel_updates_of_different_settings_are_all_kept() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("partial-race").await;
    let change = "mutation($input: UpdateTenantInput!) { updateTenant(input: $input) { id } }";
    let wanted = json!({
        "bookingReminderMinutes": 60,
        "slotStepMinutes": 30,
        "bookingHorizonDays": 120,
        "deletionGraceDays": 45,
        "cancellationPartialRefundPercent": 40,
        "bookingMinNoticeMinutes": 120,
    });
    let updates = wanted.as_object().unwrap().iter().map(|(field, value)| {
        let input = json!({"settings": {field.as_str(): value}});
        let (app, owner) = (&app, &owner);
        async move { app.ok(owner, change, json!({"input": input})).await }
    });
    futures_util::future::join_all(updates).await;
    let fields = wanted.as_object().unwrap().keys().cloned().collect::<Vec<_>>().join(" ");
    let now = app.ok(&owner, &format!("{{ currentTenant {{ settings {{ {fields} }} }} }}"), json!({})).await;
    assert_eq!(now["currentTenant"]["settings"], wanted, "a parallel change was lost");
}
