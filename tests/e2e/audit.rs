//! The audit log end to end: booking changes recorded with who, what and the changed
//! fields in the change's transaction; the hash chain verified through the API and
//! its breaks (an edited, a removed, a cut-off record) reported at the exact
//! sequence number; concurrent appends; the request role's missing rights on
//! PostgreSQL; and another tenant's log out of reach.

use futures_util::future::join_all;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tessera_e2e::TestApp;
use tessera_kernel::TenantId;
use tessera_kernel::db::{Access, Scope};

use crate::scheduling::{BOOK, booking_input, pinned_app, salon};

const LOG: &str = "query($f: AuditFilterInput) { auditLog(first: 100, filter: $f) { edges { node { seq action targetType targetId changes requestId actor { id } hash } } } }";
const VERIFY: &str = "{ verifyAuditChain { ok checked expiredThroughSeq firstBrokenSeq reason } }";

fn records(data: &Value) -> Vec<Value> {
    data["auditLog"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

/// Runs `sql` on the database directly, as its owner: what an intruder with
/// database access, not the application, could do.
async fn tamper(app: &TestApp, sql: &str) {
    app.state.db.connection().execute_unprepared(sql).await.expect("direct statement");
}

#[tokio::test]
async fn booking_changes_are_audited_with_who_what_and_the_changed_fields() {
    let app = pinned_app().await;
    let salon = salon(&app, "audited", 0).await;
    let owner = &salon.owner;
    let id = app.ok(owner, BOOK, booking_input(&salon, "2026-03-04T09:00:00Z")).await["createBooking"]["id"].clone();
    let cancel = "mutation($id: ID!) { cancelBooking(id: $id, reason: \"Ill\") { id } }";
    app.ok(owner, cancel, json!({"id": id})).await;

    let log = records(&app.ok(owner, LOG, json!({"f": {"targetType": "booking", "targetId": id}})).await);
    assert_eq!(log.len(), 2, "{log:?}");
    let (created, cancelled) = (&log[0], &log[1]);
    assert_eq!(created["action"], "booking.created");
    assert_eq!(created["changes"]["before"], Value::Null);
    assert_eq!(created["changes"]["after"]["status"], "SCHEDULED");
    assert_eq!(cancelled["action"], "booking.cancelled");
    assert_eq!(
        cancelled["changes"],
        json!({
            "before": {"status": "SCHEDULED", "cancellationReason": null, "refundMinor": null},
            "after": {"status": "CANCELLED", "cancellationReason": "Ill", "refundMinor": 0}
        }),
        "only what changed"
    );
    assert_eq!(cancelled["actor"]["id"], json!(owner.user_id));
    assert!(cancelled["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(cancelled["seq"].as_i64() > created["seq"].as_i64());
    assert_eq!(app.ok(owner, VERIFY, json!({})).await["verifyAuditChain"]["ok"], true);
}

#[tokio::test]
async fn catalogue_changes_are_audited_with_the_fields_that_changed() {
    let app = pinned_app().await;
    let salon = salon(&app, "audited-catalogue", 0).await;
    let owner = &salon.owner;
    let actions: Vec<String> = records(&app.ok(owner, LOG, json!({})).await)
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect();
    let expected = [
        "tenant.created",
        "provider.created",
        "provider.hours_set",
        "service.created",
        "addon.created",
        "provider.service_assigned",
        "customer.created",
    ];
    assert_eq!(actions, expected);
    let reprice = "mutation($s: ID!) { updateService(id: $s, input: {name: \"Women's Haircut\", priceMinor: 8000, durationMinutes: 60}) { id } }";
    app.ok(owner, reprice, json!({"s": salon.service})).await;
    let log = records(&app.ok(owner, LOG, json!({"f": {"action": "service.updated"}})).await);
    let changes = &log[0]["changes"];
    assert_eq!((&changes["before"]["priceMinor"], &changes["after"]["priceMinor"]), (&json!(7500), &json!(8000)));
    assert!(changes["before"].get("name").is_none(), "unchanged fields are left out: {changes}");
    assert_eq!(log[0]["targetId"], json!(salon.service));
}

#[tokio::test]
async fn changes_to_the_tenant_itself_are_audited() {
    let app = pinned_app().await;
    let (owner, tenant_id) = app.owner_of("audited-tenant").await;
    app.ok(&owner, "mutation { updateTenant(input: {name: \"Renamed\"}) { id } }", json!({})).await;
    let log = records(&app.ok(&owner, LOG, json!({"f": {"targetType": "tenant"}})).await);
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["action"], "tenant.created");
    assert_eq!(log[0]["changes"]["after"]["slug"], "audited-tenant");
    let log = &log[1..];
    assert_eq!(log[0]["action"], "tenant.updated");
    assert_eq!(log[0]["targetId"], json!(tenant_id));
    assert_eq!(
        log[0]["changes"],
        json!({"before": {"name": "Tenant audited-tenant"}, "after": {"name": "Renamed"}}),
        "only the name changed"
    );
}

#[tokio::test]
async fn an_edited_a_removed_and_a_cut_off_record_are_reported_at_their_sequence_number() {
    let app = pinned_app().await;
    let salon = salon(&app, "tampered", 0).await;
    let owner = &salon.owner;
    for start in ["08:00", "09:00", "10:00", "13:00", "14:00"] {
        app.ok(owner, BOOK, booking_input(&salon, &format!("2026-03-04T{start}:00Z"))).await;
    }
    let verify = || async { app.ok(owner, VERIFY, json!({})).await["verifyAuditChain"].clone() };
    let intact = verify().await;
    assert_eq!((&intact["ok"], &intact["firstBrokenSeq"]), (&json!(true), &Value::Null), "{intact}");
    let last = intact["checked"].as_i64().unwrap();
    assert!(last >= 8, "the salon's setup and the five bookings: {intact}");

    // The last record cut off: the chain's head still names it.
    tamper(&app, &format!("DELETE FROM audit_records WHERE seq = {last}")).await;
    let answer = verify().await;
    assert_eq!((&answer["ok"], &answer["firstBrokenSeq"]), (&json!(false), &json!(last)), "{answer}");

    // Rewinding the head over the gap does not help: it still holds the hash of
    // the record cut off.
    tamper(&app, &format!("DELETE FROM audit_records WHERE seq = {}", last - 1)).await;
    tamper(&app, &format!("UPDATE audit_heads SET seq = {}", last - 2)).await;
    assert_eq!(verify().await["firstBrokenSeq"], json!(last - 2));

    // A record in the middle removed.
    tamper(&app, "DELETE FROM audit_records WHERE seq = 4").await;
    let answer = verify().await;
    assert_eq!(answer["firstBrokenSeq"], 4, "{answer}");
    assert!(answer["reason"].as_str().unwrap().contains("missing"), "{answer}");

    // A record's content edited: reported at that record, however the rest looks.
    tamper(
        &app,
        "UPDATE audit_records SET changes = '{\"before\":null,\"after\":{\"status\":\"FORGED\"}}' WHERE seq = 2",
    )
    .await;
    let answer = verify().await;
    assert_eq!(answer["firstBrokenSeq"], 2, "{answer}");
    assert_eq!(answer["checked"], 1);
    assert!(answer["reason"].as_str().unwrap().contains("content"), "{answer}");
}

#[tokio::test]
async fn concurrent_changes_get_consecutive_sequence_numbers_and_a_valid_chain() {
    let app = pinned_app().await;
    let salon = salon(&app, "audit-race", 0).await;
    let before = app.ok(&salon.owner, VERIFY, json!({})).await["verifyAuditChain"]["checked"].as_i64().unwrap();
    let starts: Vec<String> = ["2026-03-04", "2026-03-05"]
        .iter()
        .flat_map(|day| ["08", "09", "10", "11", "13", "14"].map(|hour| format!("{day}T{hour}:00:00Z")))
        .collect();
    let bookings = starts.iter().map(|start| app.post(&salon.owner, BOOK, booking_input(&salon, start)));
    for (status, body) in join_all(bookings).await {
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"].is_null(), "{body}");
    }
    let log = records(&app.ok(&salon.owner, LOG, json!({"f": {"action": "booking.created"}})).await);
    let mut seqs: Vec<i64> = log.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (before + 1..=before + 12).collect::<Vec<i64>>(), "one record each, no gap, no duplicate");
    let answer = app.ok(&salon.owner, VERIFY, json!({})).await;
    assert_eq!(answer["verifyAuditChain"]["ok"], true, "{answer}");
    assert_eq!(answer["verifyAuditChain"]["checked"], before + 12);
}

#[tokio::test]
async fn the_request_role_cannot_change_or_delete_records_on_postgresql() {
    let app = pinned_app().await;
    if !app.database.is_postgres() {
        eprintln!("database grants apply to PostgreSQL only; set TESSERA_TEST_DATABASE_URL");
        return;
    }
    let salon = salon(&app, "audit-grants", 0).await;
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T09:00:00Z")).await;
    let tenants = app.ok(&salon.owner, "{ currentTenant { id } }", json!({})).await;
    let tenant_id: TenantId = tenants["currentTenant"]["id"].as_str().unwrap().parse().unwrap();
    for sql in ["UPDATE audit_records SET action = 'forged'", "DELETE FROM audit_records"] {
        let txn = app.state.db.begin(Scope::Tenant { tenant_id, user_id: None }, Access::Write).await.unwrap();
        let err = txn.execute_unprepared(sql).await.expect_err("the request role may not");
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
        txn.rollback().await.unwrap();
    }
    assert_eq!(app.ok(&salon.owner, VERIFY, json!({})).await["verifyAuditChain"]["ok"], true);
}

#[tokio::test]
async fn another_tenants_audit_log_is_out_of_reach() {
    let app = pinned_app().await;
    let alice = salon(&app, "audit-alice", 0).await;
    let bob = salon(&app, "audit-bob", 0).await;
    app.ok(&alice.owner, BOOK, booking_input(&alice, "2026-03-04T09:00:00Z")).await;
    let bookings = json!({"f": {"targetType": "booking"}});
    assert_eq!(records(&app.ok(&bob.owner, LOG, bookings).await), Vec::<Value>::new(), "Bob's log is his own");
    let alices = app.ok(&alice.owner, VERIFY, json!({})).await["verifyAuditChain"]["checked"].clone();
    let bobs = app.ok(&bob.owner, VERIFY, json!({})).await["verifyAuditChain"]["checked"].clone();
    assert_eq!(bobs.as_i64().unwrap() + 1, alices.as_i64().unwrap(), "each chain holds its own tenant's records");
    let reaching_in = bob.owner.in_tenant("audit-alice");
    assert_eq!(app.error_code(&reaching_in, LOG, json!({})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&reaching_in, VERIFY, json!({})).await, "NOT_FOUND");
    let staff = app.add_member(&alice.owner, "staff@audit-alice.test", &["staff"]).await;
    assert_eq!(app.error_code(&staff, LOG, json!({})).await, "FORBIDDEN", "audit:read is for admins");
}

#[tokio::test]
async fn retention_expires_old_activity_and_the_rest_of_the_chain_still_verifies() {
    let app = pinned_app().await;
    let salon = salon(&app, "forgetful", 0).await;
    let keeper = salon_owner_elsewhere(&app).await;
    app.add_member(&salon.owner, "stylist@forgetful.test", &["staff"]).await;
    let settings = |days: Value| json!({"input": {"settings": {"currency": "EUR", "bookingMinNoticeMinutes": 60, "bookingHorizonDays": 90, "slotStepMinutes": 15, "deletionGraceDays": 30, "activityRetentionDays": days}}});
    let update =
        "mutation($input: UpdateTenantInput!) { updateTenant(input: $input) { settings { activityRetentionDays } } }";
    let (_, body) = app.post(&salon.owner, update, settings(json!(7))).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "settings.activityRetentionDays", "{body}");
    let kept = app.ok(&salon.owner, update, settings(json!(30))).await;
    assert_eq!(kept["updateTenant"]["settings"]["activityRetentionDays"], 30);
    let old = app.ok(&salon.owner, VERIFY, json!({})).await["verifyAuditChain"]["checked"].as_i64().unwrap();
    let keepers = app.ok(&keeper, VERIFY, json!({})).await["verifyAuditChain"].clone();

    // Forty days on, one more change; then the sweep.
    app.clock.advance(chrono::Duration::days(40));
    let owner = app.login("owner@forgetful.test").await.in_tenant("forgetful");
    app.ok(&owner, "mutation { updateTenant(input: {name: \"After the cut\"}) { id } }", json!({})).await;
    let swept = tessera_api::retention::sweep(&app.state.services, chrono::Duration::days(365), app.now()).await;
    let swept = swept.unwrap();
    assert_eq!(swept.audit_records, u64::try_from(old).unwrap(), "{swept:?}");
    assert!(swept.security_events >= 1, "the member's permission change went too: {swept:?}");

    let answer = app.ok(&owner, VERIFY, json!({})).await["verifyAuditChain"].clone();
    assert_eq!(
        answer,
        json!({"ok": true, "checked": 2, "expiredThroughSeq": old, "firstBrokenSeq": null, "reason": null})
    );
    let log = records(&app.ok(&owner, LOG, json!({})).await);
    let actions: Vec<&str> = log.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["tenant.updated", "audit.expired"]);
    assert_eq!(log[0]["seq"], old + 1);
    assert!(log[1]["actor"].is_null(), "the system cut the chain");
    assert_eq!(log[1]["changes"]["after"]["throughSeq"], old);
    let events = "{ securityEvents(first: 10) { edges { node { kind } } } }";
    assert_eq!(app.ok(&owner, events, json!({})).await["securityEvents"]["edges"], json!([]));
    let again = tessera_api::retention::sweep(&app.state.services, chrono::Duration::days(365), app.now()).await;
    assert_eq!(again.unwrap().audit_records, 0, "nothing more is old enough");
    let keeper = app.login("owner@keeper.test").await.in_tenant("keeper");
    let keepers_now = app.ok(&keeper, VERIFY, json!({})).await["verifyAuditChain"].clone();
    assert_eq!(keepers_now, keepers, "a tenant keeping its activity loses none of it");

    // Moving the start by hand past a record is not a recorded cut.
    let hash = log[0]["hash"].as_str().unwrap();
    let tenant = "(SELECT id FROM tenants WHERE slug = 'forgetful')";
    tamper(&app, &format!("DELETE FROM audit_records WHERE seq = {} AND tenant_id = {tenant}", old + 1)).await;
    tamper(
        &app,
        &format!(
            "UPDATE audit_heads SET expired_through_seq = {}, expired_through_hash = '{hash}' WHERE tenant_id = {tenant}",
            old + 1
        ),
    )
    .await;
    let answer = app.ok(&owner, VERIFY, json!({})).await["verifyAuditChain"].clone();
    assert_eq!((&answer["ok"], &answer["firstBrokenSeq"]), (&json!(false), &json!(old + 2)), "{answer}");
    assert!(answer["reason"].as_str().unwrap().contains("expiry"), "{answer}");
    // Nor is forgetting the cut.
    tamper(&app, &format!("UPDATE audit_heads SET expired_through_seq = 0 WHERE tenant_id = {tenant}")).await;
    assert_eq!(app.ok(&owner, VERIFY, json!({})).await["verifyAuditChain"]["firstBrokenSeq"], 1);
}

#[tokio::test]
async fn login_history_and_account_events_expire_after_the_gateways_retention() {
    let app = pinned_app().await;
    app.sign_up("old-timer@example.com").await;
    let login =
        "mutation { login(input: {email: \"old-timer@example.com\", password: \"wrong password\"}) { accessToken } }";
    app.post(&tessera_e2e::Auth::anonymous(), login, json!({})).await;
    app.clock.advance(chrono::Duration::days(40));
    let fresh = app.login("old-timer@example.com").await;
    let swept = tessera_api::retention::sweep(&app.state.services, chrono::Duration::days(31), app.now()).await;
    let swept = swept.unwrap();
    assert_eq!((swept.login_attempts, swept.security_events), (2, 1), "{swept:?}");
    let history = app.ok(&fresh, "{ myLoginHistory(first: 10) { edges { node { succeeded } } } }", json!({})).await;
    assert_eq!(history["myLoginHistory"]["edges"], json!([{"node": {"succeeded": true}}]), "only the recent login");
    let events = app.ok(&fresh, "{ mySecurityEvents(first: 10) { edges { node { kind } } } }", json!({})).await;
    assert_eq!(events["mySecurityEvents"]["edges"], json!([]));
}

/// Another business, keeping its activity for good.
async fn salon_owner_elsewhere(app: &TestApp) -> tessera_e2e::Auth {
    salon(app, "keeper", 0).await.owner
}

#[tokio::test]
async fn a_client_recomputes_every_hash_as_the_readme_describes() {
    use sha2::{Digest, Sha256};
    let app = pinned_app().await;
    let salon = salon(&app, "self-check", 0).await;
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T09:00:00Z")).await;
    let tenant_id = app.ok(&salon.owner, "{ currentTenant { id } }", json!({})).await["currentTenant"]["id"].clone();
    let query = "{ auditLog(first: 100) { edges { node { id seq actor { id } sessionId action targetType targetId changes requestId ip userAgent occurredAt hash } } } }";
    let log = records(&app.ok(&salon.owner, query, json!({})).await);
    assert!(log.len() >= 7);
    let mut previous = "0".repeat(64);
    for record in &log {
        let canonical = json!([
            "tessera-audit-v1",
            tenant_id,
            record["seq"],
            record["id"],
            record["actor"]["id"],
            record["sessionId"],
            record["action"],
            record["targetType"],
            record["targetId"],
            record["changes"].to_string(),
            record["requestId"],
            record["ip"],
            record["userAgent"],
            chrono::DateTime::parse_from_rfc3339(record["occurredAt"].as_str().unwrap())
                .unwrap()
                .to_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            previous,
        ]);
        let hash: String =
            Sha256::digest(canonical.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(record["hash"], json!(hash), "record {} recomputed outside the gateway", record["seq"]);
        previous = hash;
    }
}
