//! The platform operator's limit commands (`tessera limits …`, `tessera tier`)
//! as the binary runs them: a tier's limits from a TOML file, versioned, only
//! what differs written, nothing written when any line is wrong; one limit at
//! a time; a business moved to another tier.

use serde_json::json;
use tessera_api::plans::{self, LimitsAction};
use tessera_e2e::TestApp;
use tessera_kernel::TenantTier;
use tessera_ledger::{LimitMode, Metric};

/// A file holding `text`, removed when dropped.
struct LimitsFile(std::path::PathBuf);

impl LimitsFile {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for LimitsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn file_with(text: &str) -> LimitsFile {
    let path = std::env::temp_dir().join(format!("tessera-limits-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, text).unwrap();
    LimitsFile(path)
}

async fn basic(app: &TestApp, metric: Metric) -> (i32, Option<i64>, LimitMode) {
    let table = app.state.services.usage.tier_table().await.unwrap();
    let row = table.iter().find(|r| r.tier == TenantTier::Basic && r.metric == metric).unwrap();
    (row.version, row.value, row.mode)
}

#[tokio::test]
async fn limits_come_from_a_toml_file_as_new_versions_and_a_bad_file_writes_nothing() {
    let app = TestApp::spawn().await;
    let services = &app.state.services;
    assert_eq!(basic(&app, Metric::Bookings).await, (1, Some(1_000), LimitMode::Soft));

    let good = file_with(
        "[basic]\nbookings = { limit = 1500, mode = \"soft\", note = \"spring\" }\nsms = { limit = \"unlimited\", mode = \"soft\" }\n",
    );
    plans::limits(services, LimitsAction::Apply { file: good.path().to_owned() }).await.unwrap();
    assert_eq!(basic(&app, Metric::Bookings).await, (2, Some(1_500), LimitMode::Soft));
    assert_eq!(basic(&app, Metric::Sms).await, (2, None, LimitMode::Soft));
    // The same file again changes nothing.
    plans::limits(services, LimitsAction::Apply { file: good.path().to_owned() }).await.unwrap();
    assert_eq!(basic(&app, Metric::Bookings).await.0, 2);
    let versions = app.rows("SELECT count(*) FROM tier_limits WHERE tier = 'basic' AND metric = 'bookings'").await;
    assert_eq!(versions[0].try_get_by_index::<i64>(0).unwrap(), 2, "version 1 is kept");

    for (text, says) in [
        ("[basic]\nbookings = { limit = 10 }\nbananas = { limit = 1 }\n", "unknown metric"),
        ("[gold]\nbookings = { limit = 10 }\n", "unknown tier"),
        ("[basic]\nbookings = { limit = -1 }\n", "whole number"),
        ("[basic]\nbookings = { limit = 10, mode = \"maybe\" }\n", "hard or soft"),
    ] {
        let bad = file_with(text);
        let err = plans::limits(services, LimitsAction::Apply { file: bad.path().to_owned() }).await.unwrap_err();
        assert!(err.contains(says), "{err}");
        assert_eq!(basic(&app, Metric::Bookings).await, (2, Some(1_500), LimitMode::Soft), "nothing written");
    }

    let one = LimitsAction::Set {
        tier: "basic".into(),
        metric: "providers".into(),
        limit: "8".into(),
        soft: false,
        note: Some("more staff".into()),
    };
    plans::limits(services, one).await.unwrap();
    assert_eq!(basic(&app, Metric::Providers).await, (2, Some(8), LimitMode::Hard));
}

#[tokio::test]
async fn the_operator_moves_a_business_and_sets_its_own_limit() {
    let app = TestApp::spawn_with(|args| args.new_tenant_tier = None).await;
    let (owner, _) = app.owner_of("operated").await;
    let services = &app.state.services;
    plans::set_tier(services, "operated", "premium").await.unwrap();
    let tier = app.ok(&owner, "{ currentTenant { tier } }", json!({})).await;
    assert_eq!(tier["currentTenant"]["tier"], "PREMIUM");
    assert!(plans::set_tier(services, "operated", "platinum").await.unwrap_err().contains("unknown tier"));
    assert!(plans::set_tier(services, "nobody", "basic").await.is_err());

    let own = LimitsAction::SetFor {
        slug: "operated".into(),
        metric: "bookings".into(),
        limit: "7".into(),
        soft: false,
        note: None,
    };
    plans::limits(services, own).await.unwrap();
    let limits = app.ok(&owner, "{ currentTenant { limits { metric limit origin } } }", json!({})).await;
    let bookings =
        limits["currentTenant"]["limits"].as_array().unwrap().iter().find(|l| l["metric"] == "BOOKINGS").cloned();
    assert_eq!(bookings, Some(json!({"metric": "BOOKINGS", "limit": 7, "origin": "TENANT"})));
    let back = LimitsAction::SetFor {
        slug: "operated".into(),
        metric: "bookings".into(),
        limit: "tier".into(),
        soft: false,
        note: None,
    };
    plans::limits(services, back).await.unwrap();
    let limits = app.ok(&owner, "{ currentTenant { limits { metric limit origin } } }", json!({})).await;
    let bookings =
        limits["currentTenant"]["limits"].as_array().unwrap().iter().find(|l| l["metric"] == "BOOKINGS").cloned();
    assert_eq!(bookings, Some(json!({"metric": "BOOKINGS", "limit": 10000, "origin": "TIER"})));
    // The audit log keeps the tier change.
    let log = app.ok(&owner, "{ auditLog(first: 20) { edges { node { action } } } }", json!({})).await;
    assert!(log.to_string().contains("tenant.tier_changed"), "{log}");
}
