//! The README's test command runs every test on a fresh clone (issue 15, item
//! 10): the JavaScript tools the browser and GraphQL-over-HTTP tests need are
//! installed by the test run itself when Node.js is here.

#[test]
fn a_checkout_without_node_modules_gets_its_javascript_tools_installed() {
    let has_npm = std::process::Command::new("npm").arg("--version").output().is_ok_and(|o| o.status.success());
    if !has_npm {
        assert!(
            std::env::var("TESSERA_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "TESSERA_REQUIRE_SERVICES=1 but npm is not installed"
        );
        return;
    }
    // A fresh clone's tests/js: the manifests, no node_modules.
    let fresh = std::env::temp_dir().join(format!("tessera-js-{}", std::process::id()));
    std::fs::create_dir_all(&fresh).unwrap();
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(js.join(file), fresh.join(file)).unwrap();
    }
    let installed = tessera_e2e::ensure_js_tools(&fresh);
    let has_playwright = fresh.join("node_modules/playwright-core/package.json").exists();
    std::fs::remove_dir_all(&fresh).unwrap();
    assert!(installed && has_playwright, "npm ci did not install the JavaScript test tools");
}

/// Runs only as the child process of the test below (`TESSERA_SKIP_PROBE=1`):
/// a browser test on a machine without Chromium.
#[tokio::test]
async fn probe_a_browser_test_without_a_browser() {
    if std::env::var("TESSERA_SKIP_PROBE").as_deref() != Ok("1") {
        return;
    }
    assert!(!tessera_e2e::run_in_browser("graphiql.mjs", &[]).await, "no browser: the test is skipped");
}

#[test]
fn a_skipped_browser_test_says_so_where_the_person_running_the_tests_sees_it() {
    // The test binary runs the probe as `cargo test` would: output captured,
    // shown only for failures. The skip must still reach the terminal.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "js_tools::probe_a_browser_test_without_a_browser", "--test-threads=1"])
        .env("TESSERA_SKIP_PROBE", "1")
        .env("CHROMIUM", "/nonexistent/chromium")
        .env_remove("TESSERA_REQUIRE_SERVICES")
        .output()
        .unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("1 passed"), "the probe ran: {printed}");
    assert!(printed.contains("skipped: install Chromium"), "the skip is not shown: {printed}");
}
