//! Tiers, limits and usage over HTTP: a hard limit holds exactly under parallel
//! requests and refuses with `QUOTA_EXCEEDED` (metric, limit, reset) losing
//! nothing; a soft one counts overage; a retried booking counts once; a stock
//! (providers) is given back by deactivating; a tier change moves the limits;
//! the counters always equal their records; only the business's owners read
//! its usage; and migration 33 counts what existed before it.

use serde_json::{Value, json};
use tessera_e2e::{TestApp, error_code_of};
use tessera_kernel::{TenantId, TenantTier};
use tessera_ledger::{LimitMode, Metric, NewLimit};
use tessera_migrations::{Migrator, MigratorTrait};

use crate::oauth::{access_token, make_client};
use crate::scheduling::{BOOK, booking_input, pinned_app, salon};

const METERS: &str =
    "{ usage { tier meters { limit { metric limit mode origin version } used overage remaining resetsAt } } }";
const LIMITS: &str = "{ currentTenant { tier limits { metric limit mode period origin } } }";
const NEW_PROVIDER: &str = "mutation($n: String!) { createProvider(input: {name: $n}) { id } }";
const ACTIVE: &str = "mutation($id: ID!, $a: Boolean!) { updateProvider(id: $id, input: {active: $a}) { active } }";

/// Twenty distinct free hours of the salon's provider (Wednesday to Friday).
fn twenty_slots() -> Vec<String> {
    (4..=6)
        .flat_map(|day| [8, 9, 10, 11, 13, 14, 15, 16].map(|hour| format!("2026-03-0{day}T{hour:02}:00:00Z")))
        .take(20)
        .collect()
}

/// Sets the tenant's own limit of `metric`, as the platform operator does.
pub(crate) async fn set_limit(app: &TestApp, tenant: &str, metric: Metric, value: Option<i64>, mode: LimitMode) {
    let tenant: TenantId = tenant.parse().unwrap();
    let limit = NewLimit { value, mode, note: Some("test".into()) };
    app.state.services.usage.set_tenant_limit(tenant, metric, limit, app.now()).await.expect("limit set");
}

pub(crate) async fn tenant_id(app: &TestApp, owner: &tessera_e2e::Auth) -> String {
    app.ok(owner, "{ currentTenant { id } }", json!({})).await["currentTenant"]["id"].as_str().unwrap().to_owned()
}

fn meter<'a>(usage: &'a Value, metric: &str) -> &'a Value {
    usage["usage"]["meters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["limit"]["metric"] == metric)
        .unwrap_or_else(|| panic!("a {metric} meter in {usage}"))
}

/// What the owner's business used of `metric` (`EMAILS`) in the current period.
pub(crate) async fn used_now(app: &TestApp, owner: &tessera_e2e::Auth, metric: &str) -> i64 {
    const USED: &str = "{ usage { meters { limit { metric } used } } }";
    let usage = app.ok(owner, USED, json!({})).await;
    meter(&usage, metric)["used"].as_i64().expect("a count")
}

/// No counter of any tenant differs from its records.
pub(crate) async fn counters_match_records(app: &TestApp) {
    let drifts = app.state.services.usage.recompute().await.expect("recompute runs");
    assert!(drifts.is_empty(), "{drifts:?}");
}

#[tokio::test]
async fn twenty_parallel_bookings_against_a_limit_of_ten_make_exactly_ten() {
    let app = pinned_app().await;
    let salon = salon(&app, "quota-rush", 0).await;
    let tenant = tenant_id(&app, &salon.owner).await;
    set_limit(&app, &tenant, Metric::Bookings, Some(10), LimitMode::Hard).await;

    let attempts = twenty_slots().into_iter().map(|at| app.post(&salon.owner, BOOK, booking_input(&salon, &at)));
    let answers = futures_util::future::join_all(attempts).await;
    let booked = answers.iter().filter(|(_, body)| body["data"]["createBooking"]["id"].is_string()).count();
    let refused: Vec<&Value> =
        answers.iter().map(|(_, body)| body).filter(|b| error_code_of(b) == "QUOTA_EXCEEDED").collect();
    assert_eq!(booked, 10, "{answers:?}");
    assert_eq!(refused.len(), 10, "{answers:?}");
    let extensions = &refused[0]["errors"][0]["extensions"];
    assert_eq!(extensions["metric"], "bookings");
    assert_eq!(extensions["limit"], 10);
    // April begins at midnight in Madrid, summer time by then (UTC+2).
    assert_eq!(extensions["resetsAt"], "2026-03-31T22:00:00Z");
    let message = refused[0]["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("limit of 10 bookings") && !message.contains("usage_counters"), "{message}");

    // Nothing of a refused booking stayed behind.
    let listed = app.ok(&salon.owner, "{ bookings(first: 50) { edges { node { id } } } }", json!({})).await;
    assert_eq!(listed["bookings"]["edges"].as_array().unwrap().len(), 10);

    let usage = app.ok(&salon.owner, METERS, json!({})).await;
    let bookings = meter(&usage, "BOOKINGS");
    assert_eq!(bookings["used"], 10, "{usage}");
    assert_eq!(bookings["remaining"], 0);
    assert_eq!(bookings["limit"]["limit"], 10);
    assert_eq!(bookings["limit"]["mode"], "HARD");
    assert_eq!(bookings["limit"]["origin"], "TENANT");
    assert_eq!(bookings["resetsAt"], "2026-03-31T22:00:00+00:00");
    counters_match_records(&app).await;

    // The next month counts afresh.
    app.clock.set("2026-04-01T08:00:00Z".parse().unwrap());
    let owner = app.login("owner@quota-rush.test").await.in_tenant("quota-rush");
    let next = app.post(&owner, BOOK, booking_input(&salon, "2026-04-08T08:00:00Z")).await;
    assert!(next.1["data"]["createBooking"]["id"].is_string(), "{next:?}");
    let usage = app.ok(&owner, METERS, json!({})).await;
    assert_eq!(meter(&usage, "BOOKINGS")["used"], 1, "{usage}");
}

#[tokio::test]
async fn a_retried_booking_counts_once_and_a_soft_limit_counts_overage() {
    let app = pinned_app().await;
    let salon = salon(&app, "quota-soft", 0).await;
    let tenant = tenant_id(&app, &salon.owner).await;
    set_limit(&app, &tenant, Metric::Bookings, Some(2), LimitMode::Soft).await;

    let mut retried = booking_input(&salon, "2026-03-04T08:00:00Z");
    retried["input"]["idempotencyKey"] = json!("front-desk-1");
    let first = app.ok(&salon.owner, BOOK, retried.clone()).await;
    let again = app.ok(&salon.owner, BOOK, retried).await;
    assert_eq!(first["createBooking"]["id"], again["createBooking"]["id"]);
    let usage = app.ok(&salon.owner, METERS, json!({})).await;
    assert_eq!(meter(&usage, "BOOKINGS")["used"], 1, "a retry counts nothing: {usage}");

    for at in ["2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z"] {
        app.ok(&salon.owner, BOOK, booking_input(&salon, at)).await;
    }
    let usage = app.ok(&salon.owner, METERS, json!({})).await;
    let bookings = meter(&usage, "BOOKINGS");
    assert_eq!((bookings["used"].as_i64(), bookings["overage"].as_i64()), (Some(3), Some(1)), "{usage}");
    assert_eq!(bookings["limit"]["mode"], "SOFT");

    // For a chart: each local day of a range, zero where nothing was used.
    let series = app
        .ok(
            &salon.owner,
            "query($m: UsageMetric!) { usage { daily(metric: $m, from: \"2026-03-01\", to: \"2026-03-03\") { date used } } }",
            json!({"m": "BOOKINGS"}),
        )
        .await;
    assert_eq!(
        series["usage"]["daily"],
        json!([{"date": "2026-03-01", "used": 0}, {"date": "2026-03-02", "used": 3}, {"date": "2026-03-03", "used": 0}])
    );
    let too_long = app
        .post(
            &salon.owner,
            "{ usage { daily(metric: BOOKINGS, from: \"2025-01-01\", to: \"2026-03-03\") { used } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code_of(&too_long.1), "BAD_USER_INPUT", "{too_long:?}");
    counters_match_records(&app).await;
}

#[tokio::test]
async fn providers_are_a_stock_held_to_the_tier_and_a_tier_change_moves_the_limit() {
    // The default configuration: a new business starts on the free tier.
    let app = TestApp::spawn_with(|args| args.new_tenant_tier = None).await;
    let (owner, _) = app.owner_of("quota-stock").await;
    let limits = app.ok(&owner, LIMITS, json!({})).await;
    assert_eq!(limits["currentTenant"]["tier"], "FREE");
    let providers = limits["currentTenant"]["limits"].as_array().unwrap().iter().find(|l| l["metric"] == "PROVIDERS");
    assert_eq!(
        providers,
        Some(&json!({"metric": "PROVIDERS", "limit": 2, "mode": "HARD", "period": "STOCK", "origin": "TIER"}))
    );

    let mut ids = Vec::new();
    for name in ["Ana", "Bea"] {
        let created = app.ok(&owner, NEW_PROVIDER, json!({"n": name})).await;
        ids.push(created["createProvider"]["id"].as_str().unwrap().to_owned());
    }
    let third = app.post(&owner, NEW_PROVIDER, json!({"n": "Carla"})).await;
    assert_eq!(error_code_of(&third.1), "QUOTA_EXCEEDED", "{third:?}");
    let extensions = &third.1["errors"][0]["extensions"];
    assert_eq!((extensions["metric"].as_str(), extensions["limit"].as_i64()), (Some("providers"), Some(2)));
    assert!(extensions["resetsAt"].is_null(), "a stock does not reset: {extensions}");

    // Deactivating one gives its place back; reactivating needs a place.
    app.ok(&owner, ACTIVE, json!({"id": ids[0], "a": false})).await;
    app.ok(&owner, NEW_PROVIDER, json!({"n": "Carla"})).await;
    let back = app.post(&owner, ACTIVE, json!({"id": ids[0], "a": true})).await;
    assert_eq!(error_code_of(&back.1), "QUOTA_EXCEEDED", "{back:?}");
    let kept = app.ok(&owner, "query($id: ID!) { provider(id: $id) { active } }", json!({"id": ids[0]})).await;
    assert_eq!(kept["provider"]["active"], false, "a refused change changes nothing");

    // The operator moves the business to basic (5 providers): the limit moves with the tier.
    app.state.services.tenants.set_tier("quota-stock", TenantTier::Basic, app.now()).await.unwrap();
    app.ok(&owner, ACTIVE, json!({"id": ids[0], "a": true})).await;
    let usage = app.ok(&owner, METERS, json!({})).await;
    assert_eq!(usage["usage"]["tier"], "BASIC");
    assert_eq!(
        (meter(&usage, "PROVIDERS")["used"].as_i64(), meter(&usage, "PROVIDERS")["remaining"].as_i64()),
        (Some(3), Some(2))
    );

    // Free's 80 % and 100 % of two providers fired once, though the second
    // place was taken twice; basic's are new levels, not reached yet.
    let fired = app.ok(&owner, "{ usage { fired { metric threshold level } } }", json!({})).await;
    let mut fired: Vec<Value> = fired["usage"]["fired"].as_array().unwrap().clone();
    fired.sort_by_key(|f| f["threshold"].as_str().unwrap().to_owned());
    assert_eq!(
        fired,
        [
            json!({"metric": "PROVIDERS", "threshold": "100%", "level": 2}),
            json!({"metric": "PROVIDERS", "threshold": "80%", "level": 2})
        ]
    );

    // Six at once for the two places left: exactly two.
    let attempts = (0..6).map(|i| app.post(&owner, NEW_PROVIDER, json!({"n": format!("Rush {i}")})));
    let answers = futures_util::future::join_all(attempts).await;
    let made = answers.iter().filter(|(_, b)| b["data"]["createProvider"]["id"].is_string()).count();
    let refused = answers.iter().filter(|(_, b)| error_code_of(b) == "QUOTA_EXCEEDED").count();
    assert_eq!((made, refused), (2, 4), "{answers:?}");
    counters_match_records(&app).await;
}

#[tokio::test]
async fn usage_is_the_business_owners_and_limits_its_members() {
    let app = pinned_app().await;
    let salon = salon(&app, "quota-mine", 0).await;
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T08:00:00Z")).await;
    let other = crate::scheduling::salon(&app, "quota-theirs", 0).await;

    // Another business's owner sees their own usage, never this one's.
    let theirs = app.ok(&other.owner, METERS, json!({})).await;
    assert_eq!(meter(&theirs, "BOOKINGS")["used"], 0, "{theirs}");
    let foreign = other.owner.in_tenant("quota-mine");
    assert_eq!(app.error_code(&foreign, METERS, json!({})).await, "NOT_FOUND");

    // Staff and customers see the limits, not the usage.
    let staff = app.add_member(&salon.owner, "staff@quota-mine.test", &["staff"]).await;
    let customer = app.add_member(&salon.owner, "customer@quota-mine.test", &["customer"]).await;
    for member in [&staff, &customer] {
        assert_eq!(app.error_code(member, METERS, json!({})).await, "FORBIDDEN");
        let limits = app.ok(member, LIMITS, json!({})).await;
        assert!(limits["currentTenant"]["limits"].as_array().is_some_and(|l| l.len() == 12), "{limits}");
    }
    // A tenant reached otherwise than as the request's shows no limits.
    let unscoped = tessera_e2e::Auth { tenant: None, ..staff.clone() };
    let listed =
        app.ok(&unscoped, "{ myTenants { edges { node { tenant { slug limits { metric } } } } } }", json!({})).await;
    let tenant = &listed["myTenants"]["edges"][0]["node"]["tenant"];
    assert_eq!(tenant["slug"], "quota-mine");
    assert!(tenant["limits"].is_null(), "{listed}");

    // A partner client reads usage only with tenant:manage.
    let (_, reader_id, reader_secret) = make_client(&app, &salon.owner, &["tenant:read"]).await;
    let reader = access_token(&app, &reader_id, &reader_secret).await;
    assert_eq!(app.error_code(&reader, METERS, json!({})).await, "FORBIDDEN");
    let (_, manager_id, manager_secret) = make_client(&app, &salon.owner, &["tenant:read", "tenant:manage"]).await;
    let manager = access_token(&app, &manager_id, &manager_secret).await;
    let usage = app.ok(&manager, METERS, json!({})).await;
    assert_eq!(meter(&usage, "BOOKINGS")["used"], 1, "{usage}");
}

#[tokio::test]
async fn migration_33_counts_the_providers_that_already_exist_and_goes_down_and_up() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_of("quota-before").await;
    for name in ["Ana", "Bea", "Carla"] {
        app.ok(&owner, NEW_PROVIDER, json!({"n": name})).await;
    }
    let first = app.ok(&owner, "{ providers(first: 1) { edges { node { id } } } }", json!({})).await;
    let inactive = first["providers"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    app.ok(&owner, ACTIVE, json!({"id": inactive, "a": false})).await;

    // Down to before migration 33, however many came after it: usage is gone.
    let conn = app.state.db.connection();
    let from_33 = u32::try_from(Migrator::migrations().len() - 32).unwrap();
    Migrator::down(conn, Some(from_33)).await.expect("migration 33 goes down");
    let tables = app.rows("SELECT count(*) FROM providers").await[0].try_get_by_index::<i64>(0).unwrap();
    assert_eq!(tables, 3, "the providers stay");

    // Up again: the two active providers are counted, as one record of what existed.
    Migrator::up(conn, None).await.expect("migration 33 goes up again");
    let usage = app.ok(&owner, METERS, json!({})).await;
    assert_eq!(meter(&usage, "PROVIDERS")["used"], 2, "{usage}");
    let records = app.rows("SELECT source_kind, quantity FROM usage_records WHERE metric = 'providers'").await;
    let records: Vec<(String, i64)> =
        records.iter().map(|r| (r.try_get_by_index(0).unwrap(), r.try_get_by_index(1).unwrap())).collect();
    assert_eq!(records, [("existing".to_owned(), 2)]);
    counters_match_records(&app).await;
    // Counting goes on from there.
    app.ok(&owner, ACTIVE, json!({"id": inactive, "a": true})).await;
    let usage = app.ok(&owner, METERS, json!({})).await;
    assert_eq!(meter(&usage, "PROVIDERS")["used"], 3, "{usage}");
    counters_match_records(&app).await;
}
