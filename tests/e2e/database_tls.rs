//! Encrypted connections to PostgreSQL: the TLS mode and the certificate
//! authority an operator chooses are the ones the pool connects with.
//!
//! Run against the test server, which must offer TLS with a certificate it
//! signed itself (Debian's PostgreSQL does, for `localhost`). On SQLite, or on
//! a server without TLS when services are not required, the test says so and
//! returns.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tessera_kernel::db::{Db, DbOptions, TlsMode};

/// The test server's URL, with its host replaced by `host`.
fn url_with_host(host: &str) -> Option<String> {
    let mut url = url::Url::parse(&tessera_e2e::postgres_url()?).expect("a URL");
    url.set_host(Some(host)).expect("a host");
    Some(url.to_string())
}

async fn connect(host: &str, tls_mode: TlsMode, ca_file: Option<&str>) -> Result<Db, sea_orm::DbErr> {
    let url = url_with_host(host).expect("a PostgreSQL server");
    Db::connect(&DbOptions { tls_mode: Some(tls_mode), ca_file: ca_file.map(Into::into), ..DbOptions::new(url) }).await
}

/// Whether the pool's connection is encrypted, as the server sees it.
async fn encrypted(db: &Db) -> bool {
    let sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    let row = db.connection().query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap().unwrap();
    row.try_get_by_index::<bool>(0).unwrap()
}

async fn setting(db: &Db, name: &str) -> String {
    let row = db
        .connection()
        .query_one_raw(Statement::from_string(DbBackend::Postgres, format!("SHOW {name}")))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

#[tokio::test]
async fn the_chosen_tls_mode_and_authority_are_the_ones_connected_with() {
    if tessera_e2e::postgres_url().is_none() {
        eprintln!("database TLS applies to PostgreSQL only; set TESSERA_TEST_DATABASE_URL");
        return;
    }
    let plain = connect("127.0.0.1", TlsMode::Disable, None).await.expect("an unencrypted connection");
    assert!(!encrypted(&plain).await);
    let certificate = setting(&plain, "ssl_cert_file").await;
    if setting(&plain, "ssl").await != "on" || std::fs::File::open(&certificate).is_err() {
        assert!(!tessera_e2e::services_required(), "the test server offers no TLS with a certificate readable here");
        eprintln!("the test server offers no TLS with a certificate readable here; skipped");
        return;
    }

    let required = connect("127.0.0.1", TlsMode::Require, None).await.expect("encrypted, certificate unchecked");
    assert!(encrypted(&required).await);
    // The server's certificate is its own authority and names `localhost`.
    let verified = connect("localhost", TlsMode::VerifyFull, Some(&certificate)).await.expect("verified");
    assert!(encrypted(&verified).await);
    let signed = connect("127.0.0.1", TlsMode::VerifyCa, Some(&certificate)).await.expect("signed, any host name");
    assert!(encrypted(&signed).await);

    // Refused: a host name the certificate does not carry, and an authority
    // the system does not trust.
    let err = connect("127.0.0.1", TlsMode::VerifyFull, Some(&certificate)).await.expect_err("wrong host refused");
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
    let err = connect("localhost", TlsMode::VerifyFull, None).await.expect_err("unknown authority refused");
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
}
