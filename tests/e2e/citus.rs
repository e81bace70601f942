//! On a distributed PostgreSQL (Citus), when `TESSERA_TEST_CITUS_URL` names a
//! database on a coordinator (the `citus` extension created in it on every
//! node, the workers added; ARCHITECTURE.md, "Growing past one database"):
//! the migrations apply, `tessera_migrations::citus::distribute` shards every
//! tenant table that can be, and the request model holds there. The tenant
//! setting reaches the workers, so a tenant sees its own rows and no other's,
//! a statement with no tenant sees none, and the booking race still gives
//! exactly one booking. The database is kept between runs, so every run makes
//! its own tenants. Skipped, saying so, without the variable.

use std::sync::Arc;

use serde_json::json;
use tessera_e2e::{TestApp, TestDatabase};
use tessera_kernel::TenantId;
use tessera_kernel::db::{Access, Db, DbOptions, Scope};
use tessera_migrations::{Migrator, MigratorTrait};

use crate::scheduling::{BOOK, NOW, booking_input, salon, utc};

async fn count_bookings(db: &Db, scope: Scope) -> i64 {
    use sea_orm::ConnectionTrait;
    let txn = db.begin(scope, Access::Read).await.unwrap();
    let row = txn
        .query_one_raw(sea_orm::Statement::from_string(
            db.connection().get_database_backend(),
            "SELECT count(*) FROM bookings",
        ))
        .await
        .unwrap()
        .unwrap();
    txn.commit().await.unwrap();
    row.try_get_by_index(0).unwrap()
}

#[tokio::test]
async fn on_citus_tenant_tables_are_sharded_and_each_tenant_still_sees_only_its_own() {
    let Ok(url) = std::env::var("TESSERA_TEST_CITUS_URL") else {
        eprintln!("skipped: set TESSERA_TEST_CITUS_URL to a database on a Citus coordinator to run this test");
        return;
    };
    // Migrated and distributed before the gateway opens its pool: the database
    // forwards `SET LOCAL` to the workers from the next connection on.
    let db = Db::connect(&DbOptions::new(url.clone())).await.expect("connect to the Citus coordinator");
    Migrator::up(db.connection(), None).await.expect("migrations apply on Citus");
    let report = tessera_migrations::citus::distribute(db.connection()).await.expect("distribute");
    assert_eq!(report.reference, ["tenants", "users"]);
    assert_eq!(report.left_local, Vec::<String>::new(), "every tenant table is distributed");
    // As Citus's own catalog says, not only the report: every table with a
    // tenant_id is sharded by it (not kept as a Citus local table), all
    // co-located, and the reference tables are copied.
    let catalog = |sql: &'static str| {
        let conn = db.connection();
        async move {
            use sea_orm::ConnectionTrait;
            let statement = sea_orm::Statement::from_string(conn.get_database_backend(), sql);
            let rows = conn.query_all_raw(statement).await.unwrap();
            rows.iter().map(|row| row.try_get_by_index::<String>(0).unwrap()).collect::<Vec<_>>()
        }
    };
    let unsharded = catalog(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p \
         WHERE p.logicalrelid = c.oid AND p.partmethod = 'h' AND p.partkey IS NOT NULL) ORDER BY 1",
    )
    .await;
    assert_eq!(unsharded, Vec::<String>::new(), "tenant tables Citus does not shard");
    let groups =
        catalog("SELECT count(DISTINCT colocationid)::text FROM pg_dist_partition WHERE partmethod = 'h'").await;
    assert_eq!(groups, ["1"], "one co-location group");
    let sharded = catalog("SELECT count(*)::text FROM pg_dist_partition WHERE partmethod = 'h'").await;
    assert_eq!(sharded, [report.distributed.len().to_string()]);
    let copied = catalog("SELECT logicalrelid::text FROM pg_dist_partition WHERE repmodel = 't' ORDER BY 1").await;
    assert_eq!(copied, ["tenants", "users"]);
    db.connection().close_by_ref().await.unwrap();

    let app = TestApp::spawn_on(Arc::new(TestDatabase::given(url)), |_| {}).await;
    app.clock.set(utc(NOW));
    let run = uuid::Uuid::new_v4().simple().to_string();
    let alice = salon(&app, &format!("citus-a-{}", &run[..12]), 0).await;
    let bob = salon(&app, &format!("citus-b-{}", &run[..12]), 0).await;

    // Twenty parallel bookings of one slot: the exclusion constraint on the
    // shard lets exactly one through.
    let attempts = (0..20).map(|_| app.post(&alice.owner, BOOK, booking_input(&alice, "2026-03-04T09:00:00Z")));
    let answers = futures_util::future::join_all(attempts).await;
    let booked: Vec<_> = answers.iter().filter_map(|(_, body)| body["data"]["createBooking"]["id"].as_str()).collect();
    assert_eq!(booked.len(), 1, "{answers:?}");
    assert!(answers.iter().filter(|(_, b)| b["errors"][0]["extensions"]["code"] == "CONFLICT").count() == 19);

    // Bob's business sees none of Alice's, by id or in lists.
    let reads =
        "query($b: ID!, $c: ID!) { booking(id: $b) { id } customer(id: $c) { id } bookings { edges { node { id } } } }";
    let data = app.ok(&bob.owner, reads, json!({"b": booked[0], "c": alice.customer})).await;
    assert_eq!(data, json!({"booking": null, "customer": null, "bookings": {"edges": []}}));
    let cancel = app
        .error_code(&bob.owner, "mutation($id: ID!) { cancelBooking(id: $id) { id } }", json!({"id": booked[0]}))
        .await;
    assert_eq!(cancel, "NOT_FOUND");

    // The delivery worker claims across the shards (one replica at a time, by
    // an advisory lock: Citus refuses row locks across shards) and sends the
    // booking's messages; the account messages went out from the coordinator.
    app.deliver().await;
    let alice_id = tenant_id_of(&app, &alice.owner).await;
    let of_alice = |condition: &str| {
        format!("SELECT count(*) FROM notification_deliveries WHERE tenant_id = '{alice_id}' AND {condition}")
    };
    let count = |rows: Vec<sea_orm::QueryResult>| rows[0].try_get_by_index::<i64>(0).unwrap();
    assert!(count(app.rows(&of_alice("status = 'sent'")).await) > 0, "the booking's messages went out");
    let held = of_alice("status = 'pending' AND lease_until IS NOT NULL");
    assert_eq!(count(app.rows(&held).await), 0, "every claim was finished");

    // A change to the tenant row itself (a reference table, locked while its
    // settings are merged) goes to every node.
    let renamed =
        app.ok(&bob.owner, "mutation { updateTenant(input: {name: \"Bob on shards\"}) { name } }", json!({})).await;
    assert_eq!(renamed["updateTenant"]["name"], "Bob on shards");

    // A partner client, found through the token directory, reads its own
    // tenant's services on the shards and nothing of the other's.
    let create = "mutation { createOAuthClient(input: {name: \"Shards\", scopes: [\"service:read\"]}) { clientSecret client { clientId } } }";
    let made = app.ok(&alice.owner, create, json!({})).await["createOAuthClient"].clone();
    let (client_id, secret) = (made["client"]["clientId"].as_str().unwrap(), made["clientSecret"].as_str().unwrap());
    let form = [("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)];
    let token: serde_json::Value =
        app.http.post(app.url("/oauth/token")).form(&form).send().await.unwrap().json().await.unwrap();
    let partner = tessera_e2e::Auth { token: token["access_token"].as_str().map(str::to_owned), ..Default::default() };
    let services = app.ok(&partner, "{ services { edges { node { id } } } }", json!({})).await;
    assert_eq!(services["services"]["edges"], json!([{"node": {"id": alice.service}}]));

    // Below the API, the policies on the workers read the forwarded setting.
    let bob_id = tenant_id_of(&app, &bob.owner).await;
    let db = &app.state.db;
    assert_eq!(count_bookings(db, Scope::Tenant { tenant_id: alice_id, user_id: None }).await, 1);
    assert_eq!(count_bookings(db, Scope::Tenant { tenant_id: bob_id, user_id: None }).await, 0);
    assert_eq!(count_bookings(db, Scope::Global).await, 0, "no tenant, no rows");
}

async fn tenant_id_of(app: &TestApp, owner: &tessera_e2e::Auth) -> TenantId {
    let data = app.ok(owner, "{ currentTenant { id } }", json!({})).await;
    TenantId(data["currentTenant"]["id"].as_str().unwrap().parse().unwrap())
}
