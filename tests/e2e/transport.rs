//! GraphQL over HTTP: media types, methods, limits, introspection, GraphiQL.

use serde_json::{Value, json};
use tessera_api::config::IntrospectionPolicy;
use tessera_e2e::{Auth, TestApp};

async fn raw(
    app: &TestApp,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, String, String) {
    let mut request = app.http.post(app.url("/graphql")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let media = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, media, response.text().await.unwrap_or_default())
}

const JSON: Option<&str> = Some("application/json");
const GRAPHQL_RESPONSE: Option<&str> = Some("application/graphql-response+json");

#[tokio::test]
async fn the_response_type_follows_accept() {
    let app = TestApp::spawn().await;
    let body = r#"{"query":"{ __typename }"}"#;
    let (status, media, _) = raw(&app, JSON, GRAPHQL_RESPONSE, body).await;
    assert_eq!((status, media.as_str()), (200, "application/graphql-response+json; charset=utf-8"));
    let (_, media, _) = raw(&app, JSON, JSON, body).await;
    assert_eq!(media, "application/json; charset=utf-8");
    let (_, media, _) = raw(&app, JSON, None, body).await;
    assert_eq!(media, "application/json; charset=utf-8", "no Accept means the legacy type");
    let (_, media, _) = raw(&app, JSON, Some("application/json;q=0.5, application/graphql-response+json"), body).await;
    assert_eq!(media, "application/graphql-response+json; charset=utf-8", "q-values decide");
    let (status, _, _) = raw(&app, JSON, Some("text/html"), body).await;
    assert_eq!(status, 406);
}

#[tokio::test]
async fn fields_are_answered_in_the_order_they_were_asked() {
    // GraphQL's serialization keeps the selection's order; clients that show a
    // response as it came (GraphiQL, logs, snapshots) rely on it.
    let app = TestApp::spawn().await;
    let body = r#"{"query":"{ zebra: __typename apple: __typename mango: __typename }"}"#;
    let (status, _, text) = raw(&app, JSON, JSON, body).await;
    assert_eq!(status, 200);
    assert_eq!(text, r#"{"data":{"zebra":"Query","apple":"Query","mango":"Query"}}"#);
}

#[tokio::test]
async fn bodies_that_browsers_can_send_cross_site_are_refused() {
    let app = TestApp::spawn().await;
    for content_type in
        [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), None]
    {
        let (status, _, body) = raw(&app, content_type, GRAPHQL_RESPONSE, r#"{"query":"mutation { logout }"}"#).await;
        assert_eq!(status, 415, "{content_type:?}: {body}");
    }
}

#[tokio::test]
async fn malformed_requests_are_4xx_with_a_code() {
    let app = TestApp::spawn().await;
    for (body, accept) in [
        ("{not json", JSON),
        ("[{\"query\":\"{ __typename }\"}]", JSON),
        ("{\"variables\":{}}", GRAPHQL_RESPONSE),
        ("{\"query\": 5}", JSON),
    ] {
        let (status, _, text) = raw(&app, JSON, accept, body).await;
        assert_eq!(status, 400, "{body}: {text}");
        let parsed: Value = serde_json::from_str(&text).expect("json error");
        assert_eq!(parsed["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    }
}

#[tokio::test]
async fn a_document_error_is_400_without_data_for_the_new_type_and_200_for_json() {
    let app = TestApp::spawn().await;
    let body = r#"{"query":"{ me { "}"#;
    let (status, _, text) = raw(&app, JSON, GRAPHQL_RESPONSE, body).await;
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 400);
    assert!(parsed.get("data").is_none());
    assert_eq!(parsed["errors"][0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED");
    let (status, _, _) = raw(&app, JSON, JSON, body).await;
    assert_eq!(status, 200);
    let (status, _, text) = raw(&app, JSON, GRAPHQL_RESPONSE, r#"{"query":"{ noSuchField }"}"#).await;
    assert_eq!(status, 400);
    assert!(text.contains("GRAPHQL_VALIDATION_FAILED"), "{text}");
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/graphql?query=%7B__typename%7D")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["data"]["__typename"], "Query");
    let response = app.http.get(app.url("/graphql?query=mutation%7Blogout%7D")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = TestApp::spawn().await;
    let padding = "x".repeat(1024 * 1024 + 1);
    let (status, _, _) =
        raw(&app, JSON, JSON, format!(r#"{{"query":"{{ __typename }}","extensions":{{"p":"{padding}"}}}}"#)).await;
    assert_eq!(status, 413);
    // Also when the client does not declare a length.
    let chunks = futures_util::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024])));
    let (status, _, _) = raw(&app, JSON, JSON, reqwest::Body::wrap_stream(chunks)).await;
    assert_eq!(status, 413);
}

async fn code_of(app: &TestApp, query: &str) -> String {
    app.error_code(&Auth::anonymous(), query, json!({})).await
}

#[tokio::test]
async fn costly_documents_are_refused_before_they_run() {
    let app = TestApp::spawn().await;
    let typename_flood = format!("{{ {} }}", "__typename ".repeat(1001));
    assert_eq!(code_of(&app, &typename_flood).await, "GRAPHQL_VALIDATION_FAILED");
    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    assert_eq!(code_of(&app, &format!("{{ {aliases} }}")).await, "GRAPHQL_VALIDATION_FAILED");
    let long = format!("{{ __typename }} # {}", "x".repeat(20_001));
    assert_eq!(code_of(&app, &long).await, "GRAPHQL_VALIDATION_FAILED");
    let deep = format!(
        "{{ __schema {{ queryType {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(13),
        "} ".repeat(13)
    );
    assert_eq!(code_of(&app, &deep).await, "GRAPHQL_VALIDATION_FAILED");
    let cycle = "{ __typename ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
    assert_eq!(code_of(&app, cycle).await, "GRAPHQL_VALIDATION_FAILED");
    let wide = "{ myTenants(first: 100) { edges { node { tenant { children(first: 100) { edges { node { id name slug } } } } } } } }";
    assert_eq!(code_of(&app, wide).await, "GRAPHQL_VALIDATION_FAILED", "page sizes multiply complexity");
    let directives = format!("{{ __typename {} }}", "@include(if: true) ".repeat(11));
    assert_eq!(code_of(&app, &directives).await, "GRAPHQL_VALIDATION_FAILED");
    let guesses = r#"mutation { a: login(input: {email: "a@b.co", password: "one"}) { accessToken } b: login(input: {email: "a@b.co", password: "two"}) { accessToken } }"#;
    assert_eq!(code_of(&app, guesses).await, "GRAPHQL_VALIDATION_FAILED", "aliases cannot multiply guesses");
}

/// The introspection query GraphiQL sends (graphql-js `getIntrospectionQuery` with
/// every option on).
pub const INTROSPECTION: &str = r#"query IntrospectionQuery {
  __schema {
    description queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL isOneOf
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}"#;

#[tokio::test]
async fn graphiql_can_load_the_schema_within_the_limits() {
    let app = TestApp::spawn().await;
    let data = app.ok(&Auth::anonymous(), INTROSPECTION, json!({})).await;
    assert!(data["__schema"]["types"].as_array().unwrap().len() > 20);
}

#[tokio::test]
async fn introspection_and_suggestions_follow_the_configuration() {
    let app = TestApp::spawn_with(|c| c.introspection = Some(IntrospectionPolicy::Authenticated)).await;
    assert_eq!(code_of(&app, "{ __schema { queryType { name } } }").await, "GRAPHQL_VALIDATION_FAILED");
    // Federation's SDL is the schema too.
    assert_eq!(code_of(&app, "{ _service { sdl } }").await, "GRAPHQL_VALIDATION_FAILED");
    let (_, body) = app.post(&Auth::anonymous(), "{ currentTenat { id } }", json!({})).await;
    assert!(!body.to_string().contains("Did you mean"), "no suggestions when introspection is restricted: {body}");
    let user = app.sign_up("dev@example.com").await;
    app.ok(&user, "{ __schema { queryType { name } } }", json!({})).await;
    app.ok(&user, "{ _service { sdl } }", json!({})).await;

    let open = TestApp::spawn().await;
    let (_, body) = open.post(&Auth::anonymous(), "{ currentTenat { id } }", json!({})).await;
    assert!(body.to_string().contains("Did you mean"), "{body}");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = TestApp::spawn_with(|c| c.cors_origins = Some(vec!["https://app.example.com".into()])).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type, x-tenant")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example.com");
    let refused = preflight("https://evil.example.net").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn graphiql_and_every_asset_are_served_by_the_gateway() {
    let app = TestApp::spawn().await;
    let page = app.http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("GraphiQL"));
    for reference in page.split(['"', '\'']).filter(|s| s.ends_with(".js") || s.ends_with(".css")) {
        assert!(reference.starts_with("/assets/"), "{reference} must be served locally");
    }
    for name in tessera_api::http::graphiql::asset_names() {
        let response = app.http.get(app.url(&format!("/assets/{name}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{name}");
        assert!(response.bytes().await.unwrap().len() > 1000, "{name}");
    }
}

#[tokio::test]
async fn the_graphql_over_http_audit_suite_passes() {
    let app = TestApp::spawn().await;
    tessera_e2e::run_node("audit.mjs", &[&app.url("/graphql")]).await;
}

#[tokio::test]
async fn graphiql_runs_queries_and_subscriptions_offline_with_the_headers_editor() {
    let app = TestApp::spawn().await;
    app.owner_of("graphiql-salon").await;
    let url = app.url("");
    tessera_e2e::run_in_browser(
        "graphiql.mjs",
        &[&url, "owner@graphiql-salon.test", tessera_e2e::PASSWORD, "graphiql-salon"],
    )
    .await;
}

#[tokio::test]
async fn an_argument_of_the_wrong_type_is_bad_user_input_not_an_internal_error() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("types@example.com").await;
    let (_, body) = app
        .post(&user, "query($first: Int) { myTenants(first: $first) { edges { cursor } } }", json!({"first": "ten"}))
        .await;
    let code = body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default();
    assert!(code == "BAD_USER_INPUT" || code == "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert_ne!(body["errors"][0]["message"], "internal server error");
}

/// Client libraries add their own headers (Apollo's client awareness, W3C trace
/// context): an allowed origin's preflight allows what the browser asks for.
#[tokio::test]
async fn an_allowed_origin_may_send_the_headers_client_libraries_add() {
    let app = TestApp::spawn_with(|c| c.cors_origins = Some(vec!["https://app.example.com".into()])).await;
    let asked = "authorization, content-type, apollographql-client-name, apollographql-client-version, traceparent";
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", asked)
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    for header in asked.split(", ") {
        assert!(allowed.contains(header), "{header} is not allowed: {allowed}");
    }
    // The request itself then goes through.
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("origin", "https://app.example.com")
        .header("apollographql-client-name", "web")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "https://app.example.com");
}

/// The README's word on scalars, checked: `DateTime` answers RFC 3339 in UTC
/// and takes any offset.
#[tokio::test]
async fn scalars_have_the_formats_the_readme_gives() {
    let app = TestApp::spawn().await;
    let ana = app.sign_up("ana@scalars.test").await;
    let sessions = app.ok(&ana, "{ mySessions(first: 1) { edges { node { createdAt } } } }", json!({})).await;
    let created = sessions["mySessions"]["edges"][0]["node"]["createdAt"].as_str().unwrap().to_owned();
    assert!(is_rfc3339_utc(&created), "{created}");
    // Any offset goes in: the same instant written two ways finds the same sign-in.
    let history =
        "query($from: DateTime!) { myLoginHistory(filter: {from: $from}, first: 10) { edges { node { succeeded } } } }";
    let instant = chrono::DateTime::parse_from_rfc3339(&created).unwrap() - chrono::Duration::seconds(1);
    let in_paris = instant.with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap()).to_rfc3339();
    let in_utc = instant.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let found = |from: String| {
        let ana = &ana;
        let app = &app;
        async move { app.ok(ana, history, json!({ "from": from })).await["myLoginHistory"]["edges"].clone() }
    };
    let (paris, utc) = (found(in_paris).await, found(in_utc).await);
    assert_eq!(paris, utc);
    assert!(!paris.as_array().unwrap().is_empty());
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]+00:00`.
fn is_rfc3339_utc(text: &str) -> bool {
    let Some((stamp, zone)) = text.rsplit_once('+') else { return false };
    let (date, time) = stamp.split_once('T').unwrap_or_default();
    zone == "00:00"
        && date.len() == 10
        && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
        && chrono::NaiveTime::parse_from_str(time, "%H:%M:%S%.f").is_ok()
}
