//! GraphiQL at `/`, with every asset served by the gateway itself, so partners can
//! explore the API with no internet access. Subscriptions go over graphql-ws with
//! the headers from GraphiQL's headers editor as the `connection_init` payload.

use axum::extract::Path;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphql-ws.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/graphql-ws.min.js"),
    },
    Asset {
        name: "THIRD_PARTY_LICENSES.md",
        content_type: "text/markdown; charset=utf-8",
        body: include_bytes!("../../assets/graphiql/THIRD_PARTY_LICENSES.md"),
    },
];

/// The names of the bundled assets (for tests that fetch each one).
pub fn asset_names() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|a| a.name)
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Tessera GraphiQL</title>
  <link rel="stylesheet" href="/assets/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/assets/react.production.min.js"></script>
  <script src="/assets/react-dom.production.min.js"></script>
  <script src="/assets/graphql-ws.min.js"></script>
  <script src="/assets/graphiql.min.js"></script>
  <script>
    const httpUrl = new URL('/graphql', location.href).href;
    const wsUrl = httpUrl.replace(/^http/, 'ws');
    const httpFetcher = GraphiQL.createFetcher({ url: httpUrl });
    let wsClient = null;
    let wsHeaders = null;

    // The operation GraphiQL is about to run is a subscription if its definition
    // starts with the keyword; comments and strings before it are skipped.
    function isSubscription(params) {
      const source = (params.query || '').replace(/#[^\n]*/g, '').replace(/"(?:[^"\\]|\\.)*"/g, '""');
      const definitions = source.match(/\b(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?/g) || [];
      const wanted = params.operationName;
      for (const definition of definitions) {
        const [kind, name] = definition.split(/\s+/);
        if (!wanted || name === wanted) return kind === 'subscription';
      }
      return false;
    }

    function subscriptionClient(headers) {
      const key = JSON.stringify(headers || {});
      if (wsClient && wsHeaders === key) return wsClient;
      if (wsClient) wsClient.dispose();
      wsHeaders = key;
      wsClient = graphqlWs.createClient({ url: wsUrl, connectionParams: headers || {}, lazy: true });
      return wsClient;
    }

    function fetcher(params, options) {
      if (!isSubscription(params)) return httpFetcher(params, options);
      const client = subscriptionClient(options && options.headers);
      return {
        subscribe(sink) {
          const observer = typeof sink === 'function' ? { next: sink } : sink;
          const dispose = client.subscribe(params, {
            next: (value) => observer.next && observer.next(value),
            error: (error) => observer.error && observer.error(error),
            complete: () => observer.complete && observer.complete(),
          });
          return { unsubscribe: dispose };
        },
      };
    }

    const defaultQuery = `# Welcome to Tessera.
#
# 1. Run SignIn (the ▶ button offers both operations).
# 2. Open "Headers" below and paste, with the accessToken you got:
#      {"Authorization": "Bearer tsa_…", "X-Tenant": "demo-salon"}
# 3. Run CurrentTenant.
mutation SignIn {
  login(input: {email: "owner@demo-salon.test", password: "tessera-demo-owner"}) {
    accessToken
  }
}

query CurrentTenant {
  me { displayName email }
  currentTenant { id name slug timezone settings { currency slotStepMinutes } }
}
`;

    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultQuery,
        defaultEditorToolsVisibility: true,
        shouldPersistHeaders: true,
      }),
    );
  </script>
</body>
</html>
"#;

/// `GET /`: the GraphiQL page.
pub(crate) async fn page() -> Response {
    let mut response = Html(PAGE).into_response();
    // The page runs only its own scripts, and talks only to this origin.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:",
        ),
    );
    response
}

/// `GET /assets/{name}`.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    response
}

#[cfg(test)]
mod tests {
    use super::PAGE;
    use crate::demo::{DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, DEMO_SLUG};

    #[test]
    fn the_welcome_query_signs_in_to_the_demo_as_seeded() {
        for needle in [DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, DEMO_SLUG] {
            assert!(PAGE.contains(needle), "the GraphiQL welcome text must use {needle}");
        }
    }
}
