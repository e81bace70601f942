//! Error codes tell the truth (issue 15, item 3): a page too large, `first` with
//! `last`, or a bad filter is `BAD_USER_INPUT` naming the argument, on every
//! paginated field.

use serde_json::{Value, json};
use tessera_e2e::{TestApp, error_code_of};

use crate::scheduling::salon;

#[tokio::test]
async fn bad_page_arguments_are_bad_user_input_naming_the_argument() {
    let app = TestApp::spawn().await;
    let salon = salon(&app, "codes", 0).await;
    for (query, field) in [
        ("{ bookings(first: 101) { edges { cursor } } }", "first"),
        ("{ bookings(first: 5, last: 5) { edges { cursor } } }", "first"),
        ("{ providers(first: 101) { edges { cursor } } }", "first"),
        ("{ customers(last: 101) { edges { cursor } } }", "last"),
        ("{ bookings(after: \"not a cursor\", first: 5) { edges { cursor } } }", "after"),
    ] {
        let (_, body): (u16, Value) = app.post(&salon.owner, query, json!({})).await;
        assert_eq!(error_code_of(&body), "BAD_USER_INPUT", "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{query}: {body}");
    }
}
