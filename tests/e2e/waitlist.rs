//! The waitlist (issue 22, item 5): a customer waits for a service (one
//! provider or anyone, some dates); time that frees (a cancellation, a
//! move, an offer declined or run out, new hours) is offered to the first
//! one waiting as a booking holding it until the offer runs out, told by
//! `waitlist.offered`; accepting books it, declining or running out offers
//! it to the next. The same time is never offered to two people, nor one
//! entry two times, under parallel cancellations, acceptances and jobs, on
//! both databases; nobody outside the business, and no customer but its
//! own, reaches an entry.

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp};

use crate::live_rights::client_token;
use crate::scheduling::{BOOK, Salon, booking_input, pinned_app, salon, utc};

const JOIN: &str = "mutation($input: JoinWaitlistInput!) { joinWaitlist(input: $input) { id status customerId \
                    offerExpiresAt booking { id startsAt status offerExpiresAt } } }";
const ENTRY: &str =
    "query($id: ID!) { waitlistEntry(id: $id) { id status offerExpiresAt booking { id startsAt status } } }";
const ENTRIES: &str =
    "query($f: WaitlistFilterInput) { waitlistEntries(filter: $f) { edges { node { id status customerId } } } }";
const ACCEPT: &str = "mutation($id: ID!) { acceptWaitlistOffer(id: $id) { id status closedAt booking { id status startsAt offerExpiresAt } } }";
const DECLINE: &str = "mutation($id: ID!) { declineWaitlistOffer(id: $id) { id status } }";
const LEAVE: &str = "mutation($id: ID!) { leaveWaitlist(id: $id) { id status } }";
const CANCEL: &str = "mutation($id: ID!) { cancelBooking(id: $id) { id status } }";

/// Wednesday 4 March 2026 in Madrid: Maria works 09–13 and 14–18 (UTC+1).
const WEDNESDAY: &str = "2026-03-04";
const HOURS: [&str; 8] = ["08", "09", "10", "11", "13", "14", "15", "16"];

fn at(hour: &str) -> String {
    format!("{WEDNESDAY}T{hour}:00:00Z")
}

/// Books Maria's whole Wednesday for Ana, hour by hour: the booking ids by hour.
async fn full_wednesday(app: &TestApp, salon: &Salon) -> Vec<String> {
    let mut ids = Vec::new();
    for hour in HOURS {
        let made = app.ok(&salon.owner, BOOK, booking_input(salon, &at(hour))).await;
        ids.push(made["createBooking"]["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// A customer of the salon named `name`, written to at `name@example.com`.
async fn customer(app: &TestApp, salon: &Salon, name: &str) -> String {
    let made = "mutation($n: String!, $e: String!) { createCustomer(input: {name: $n, email: $e}) { id } }";
    let vars = json!({"n": name, "e": format!("{}@example.com", name.to_lowercase())});
    app.ok(&salon.owner, made, vars).await["createCustomer"]["id"].as_str().unwrap().to_owned()
}

/// Puts `customer` on the list for the haircut on Wednesday, as the owner.
async fn join(app: &TestApp, salon: &Salon, customer: &str) -> Value {
    let input = json!({"input": {"serviceId": salon.service, "customerId": customer, "earliestDate": WEDNESDAY, "latestDate": WEDNESDAY}});
    app.ok(&salon.owner, JOIN, input).await["joinWaitlist"].clone()
}

async fn entry(app: &TestApp, auth: &Auth, id: &Value) -> Value {
    app.ok(auth, ENTRY, json!({"id": id})).await["waitlistEntry"].clone()
}

/// Runs the waitlist job: how many offers it freed and made.
async fn run_waitlist(app: &TestApp) -> (usize, usize) {
    let now = app.state.services.clock.now();
    let run = app.state.services.scheduling.run_waitlist(now).await.expect("the waitlist job runs");
    (run.lapsed, run.offered)
}

/// The number a `SELECT COUNT(…) AS n` answers.
async fn count(app: &TestApp, sql: &str) -> i64 {
    app.rows(sql).await[0].try_get("", "n").expect("a count")
}

/// The subjects of the emails sent to `to`.
async fn subjects_to(app: &TestApp, to: &str) -> Vec<String> {
    app.deliver().await;
    app.email.sent().into_iter().filter(|m| m.to == to).map(|m| m.subject).collect()
}

#[tokio::test]
async fn a_freed_time_is_offered_to_the_first_waiting_and_accepting_books_it() {
    let app = pinned_app().await;
    let salon = salon(&app, "wait-first", 0).await;
    let booked = full_wednesday(&app, &salon).await;
    let (ben, carla) = (customer(&app, &salon, "Ben").await, customer(&app, &salon, "Carla").await);
    let first = join(&app, &salon, &ben).await;
    let second = join(&app, &salon, &carla).await;
    assert_eq!((first["status"].as_str(), second["status"].as_str()), (Some("WAITING"), Some("WAITING")));

    // Ana cancels 10:00: Ben, first in line, is offered it, held an hour.
    app.ok(&salon.owner, CANCEL, json!({"id": booked[2]})).await;
    let offered = entry(&app, &salon.owner, &first["id"]).await;
    assert_eq!(offered["status"], "OFFERED", "{offered}");
    assert_eq!(offered["booking"]["startsAt"], "2026-03-04T10:00:00+00:00");
    assert_eq!(offered["booking"]["status"], "SCHEDULED");
    assert_eq!(utc(offered["offerExpiresAt"].as_str().unwrap()), utc("2026-03-02T09:00:00Z"));
    assert_eq!(entry(&app, &salon.owner, &second["id"]).await["status"], "WAITING");
    let subjects = subjects_to(&app, "ben@example.com").await;
    assert!(subjects == ["A time freed up at Tenant wait-first: 2026-03-04 11:00"], "{subjects:?}");
    // The offer holds the time: nobody else books it, nothing is free that day.
    let again = booking_input(&salon, &at("10"));
    assert_eq!(app.error_code(&salon.owner, BOOK, again).await, "CONFLICT");
    let free = "query($s: ID!) { availability(serviceId: $s, from: \"2026-03-04\", to: \"2026-03-04\") { startsAt } }";
    assert_eq!(app.ok(&salon.owner, free, json!({"s": salon.service})).await["availability"], json!([]));
    // It cannot be moved or confirmed before it is accepted.
    let id = offered["booking"]["id"].clone();
    let moved = "mutation($id: ID!) { rescheduleBooking(id: $id, startsAt: \"2026-03-05T10:00:00Z\") { id } }";
    assert_eq!(app.error_code(&salon.owner, moved, json!({"id": id})).await, "BAD_USER_INPUT");

    // Accepted (the front desk for Ben), it is his booking, told as booked.
    let accepted = app.ok(&salon.owner, ACCEPT, json!({"id": first["id"]})).await["acceptWaitlistOffer"].clone();
    assert_eq!(accepted["status"], "BOOKED");
    assert_eq!(accepted["booking"]["status"], "SCHEDULED");
    assert_eq!(accepted["booking"]["offerExpiresAt"], Value::Null);
    let repeat = app.ok(&salon.owner, ACCEPT, json!({"id": first["id"]})).await["acceptWaitlistOffer"].clone();
    assert_eq!(repeat, accepted, "accepting again answers the same");
    let subjects = subjects_to(&app, "ben@example.com").await;
    assert!(subjects[1].starts_with("We have received your booking"), "{subjects:?}");
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert_eq!(app.error_code(&salon.owner, DECLINE, json!({"id": first["id"]})).await, "BAD_USER_INPUT");
    // Carla still waits; the listing is in the order people joined.
    let open = app.ok(&salon.owner, ENTRIES, json!({})).await["waitlistEntries"]["edges"].clone();
    assert_eq!(open.as_array().unwrap().len(), 1);
    assert_eq!(open[0]["node"]["id"], second["id"]);
    let audit = app.rows("SELECT action FROM audit_records WHERE target_type = 'waitlist_entry' ORDER BY seq").await;
    let actions: Vec<String> = audit.iter().map(|r| r.try_get("", "action").unwrap()).collect();
    assert_eq!(actions, ["waitlist.joined", "waitlist.joined", "waitlist.offered", "waitlist.accepted"]);
    let events = app.rows("SELECT payload FROM outbox WHERE kind = 'booking.created'").await;
    let offers: Vec<String> = events.iter().map(|r| r.try_get::<String>("", "payload").unwrap()).collect();
    assert_eq!(offers.iter().filter(|p| p.contains("waitlistEntryId")).count(), 1, "{offers:?}");
}

#[tokio::test]
async fn a_declined_or_lapsed_offer_goes_to_the_next_in_line() {
    let app = pinned_app().await;
    let salon = salon(&app, "wait-next", 0).await;
    let booked = full_wednesday(&app, &salon).await;
    let mut entries = Vec::new();
    for name in ["Ben", "Carla", "Dora"] {
        let who = customer(&app, &salon, name).await;
        entries.push(join(&app, &salon, &who).await["id"].clone());
    }
    app.ok(&salon.owner, CANCEL, json!({"id": booked[2]})).await;
    assert_eq!(entry(&app, &salon.owner, &entries[0]).await["status"], "OFFERED");

    // Ben declines: Carla is offered the same time at once.
    let declined = app.ok(&salon.owner, DECLINE, json!({"id": entries[0]})).await;
    assert_eq!(declined["declineWaitlistOffer"]["status"], "DECLINED");
    let carla = entry(&app, &salon.owner, &entries[1]).await;
    assert_eq!(carla["status"], "OFFERED");
    assert_eq!(carla["booking"]["startsAt"], "2026-03-04T10:00:00+00:00");

    // Carla lets it run out: the job frees it and offers it to Dora.
    app.clock.advance(chrono::Duration::minutes(61));
    let owner = app.login("owner@wait-next.test").await.in_tenant("wait-next");
    let run = run_waitlist(&app).await;
    assert_eq!(run, (1, 1), "freed and offered again");
    assert_eq!(entry(&app, &owner, &entries[1]).await["status"], "EXPIRED");
    let code = app.error_code(&owner, ACCEPT, json!({"id": entries[1]})).await;
    assert_eq!(code, "BAD_USER_INPUT", "too late");
    let dora = entry(&app, &owner, &entries[2]).await;
    assert_eq!(dora["status"], "OFFERED");
    assert_eq!(dora["booking"]["startsAt"], "2026-03-04T10:00:00+00:00");
    assert!(subjects_to(&app, "carla@example.com").await.iter().all(|s| s.starts_with("A time freed up")));

    // Dora's runs out too; the next booking wanting the time frees it itself.
    app.clock.advance(chrono::Duration::minutes(61));
    let owner = app.login("owner@wait-next.test").await.in_tenant("wait-next");
    app.ok(&owner, BOOK, booking_input(&salon, &at("10"))).await;
    assert_eq!(entry(&app, &owner, &entries[2]).await["status"], "EXPIRED");
    assert_eq!(run_waitlist(&app).await, (0, 0), "nothing left to free or offer");
}

#[tokio::test]
async fn parallel_cancellations_never_offer_one_time_twice_nor_one_entry_two_times() {
    let app = pinned_app().await;
    let salon = salon(&app, "wait-rush", 0).await;
    let booked = full_wednesday(&app, &salon).await;
    let mut waiting = Vec::new();
    for name in ["Ben", "Carla", "Dora", "Eve", "Fay", "Gus", "Hal", "Ida"] {
        let who = customer(&app, &salon, name).await;
        waiting.push(join(&app, &salon, &who).await["id"].as_str().unwrap().to_owned());
    }
    // Six hours freed at once, while four replicas' jobs run too.
    let cancels = booked[..6].iter().map(|id| app.post(&salon.owner, CANCEL, json!({"id": id})));
    let jobs = (0..4).map(|_| run_waitlist(&app));
    let (answers, _) = tokio::join!(futures_util::future::join_all(cancels), futures_util::future::join_all(jobs));
    assert!(answers.iter().all(|(_, body)| body["data"]["cancelBooking"]["status"] == "CANCELLED"), "{answers:?}");
    run_waitlist(&app).await;

    let offers = "FROM bookings b WHERE b.offer_expires_at IS NOT NULL AND b.status = 'scheduled'";
    assert_eq!(count(&app, &format!("SELECT COUNT(*) AS n {offers}")).await, 6, "each freed hour offered once");
    let starts = count(&app, &format!("SELECT COUNT(DISTINCT b.starts_at) AS n {offers}")).await;
    assert_eq!(starts, 6, "no hour offered twice");
    let holders = count(
        &app,
        "SELECT COUNT(DISTINCT e.id) AS n FROM bookings b JOIN waitlist_entries e ON e.tenant_id = b.tenant_id \
         AND e.offer_booking_id = b.id AND e.status = 'offered' WHERE b.offer_expires_at IS NOT NULL AND b.status = 'scheduled'",
    )
    .await;
    assert_eq!(holders, 6, "each offer is one entry's, and no entry holds two");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM waitlist_entries WHERE status = 'offered'").await, 6);
    let overlapping = app
        .rows(
            "SELECT a.id FROM bookings a JOIN bookings b ON a.provider_id = b.provider_id AND a.id < b.id \
             AND a.status IN ('scheduled', 'confirmed') AND b.status IN ('scheduled', 'confirmed') \
             AND a.starts_at = b.starts_at",
        )
        .await;
    assert!(overlapping.is_empty(), "the database keeps one holder per time");
}

#[tokio::test]
async fn parallel_acceptances_and_jobs_book_the_offer_once() {
    let app = pinned_app().await;
    let salon = salon(&app, "wait-accept", 0).await;
    let booked = full_wednesday(&app, &salon).await;
    let (ben, carla) = (customer(&app, &salon, "Ben").await, customer(&app, &salon, "Carla").await);
    let first = join(&app, &salon, &ben).await["id"].clone();
    let second = join(&app, &salon, &carla).await["id"].clone();
    app.ok(&salon.owner, CANCEL, json!({"id": booked[5]})).await;

    // Five acceptances at once, with two jobs: one booking, accepted once.
    let accepts = (0..5).map(|_| app.post(&salon.owner, ACCEPT, json!({"id": first})));
    let (answers, _) = tokio::join!(
        futures_util::future::join_all(accepts),
        futures_util::future::join(run_waitlist(&app), run_waitlist(&app)),
    );
    let bookings: Vec<&Value> =
        answers.iter().map(|(_, b)| &b["data"]["acceptWaitlistOffer"]["booking"]["id"]).collect();
    assert!(bookings.iter().all(|id| id.is_string() && *id == bookings[0]), "{answers:?}");
    let accepted = app.rows("SELECT seq FROM audit_records WHERE action = 'waitlist.accepted'").await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(entry(&app, &salon.owner, &second).await["status"], "WAITING", "nothing else is free");

    // An offer whose hour has come: the job frees it and a late acceptance is refused.
    app.ok(&salon.owner, CANCEL, json!({"id": booked[6]})).await;
    assert_eq!(entry(&app, &salon.owner, &second).await["status"], "OFFERED");
    app.clock.advance(chrono::Duration::minutes(60));
    let owner = app.login("owner@wait-accept.test").await.in_tenant("wait-accept");
    let (late, run) = tokio::join!(app.post(&owner, ACCEPT, json!({"id": second})), run_waitlist(&app));
    assert_eq!(late.1["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{late:?}");
    assert_eq!(run.0, 1);
    assert_eq!(entry(&app, &owner, &second).await["status"], "EXPIRED");
}

#[tokio::test]
async fn joining_is_checked_and_an_offer_cancelled_is_an_offer_declined() {
    let app = pinned_app().await;
    let salon = salon(&app, "wait-rules", 0).await;
    let ben = customer(&app, &salon, "Ben").await;
    let wish = |earliest: &str, latest: &str| json!({"input": {"serviceId": salon.service, "customerId": ben, "earliestDate": earliest, "latestDate": latest}});
    for (earliest, latest) in [("2026-03-01", "2026-03-04"), ("2026-03-05", "2026-03-04"), ("2026-03-04", "2026-04-04")]
    {
        let code = app.error_code(&salon.owner, JOIN, wish(earliest, latest)).await;
        assert_eq!(code, "BAD_USER_INPUT", "{earliest}..{latest}");
    }
    let limit = "mutation($m: Int!) { updateTenant(input: {settings: {waitlistOfferMinutes: $m}}) { settings { waitlistOfferMinutes } } }";
    assert_eq!(app.error_code(&salon.owner, limit, json!({"m": 4})).await, "BAD_USER_INPUT");
    let set = app.ok(&salon.owner, limit, json!({"m": 30})).await;
    assert_eq!(set["updateTenant"]["settings"]["waitlistOfferMinutes"], 30);

    // Wednesday has free time: joining is offered it at once, held 30 minutes.
    let joined = app.ok(&salon.owner, JOIN, wish("2026-03-04", "2026-03-04")).await["joinWaitlist"].clone();
    assert_eq!(joined["status"], "OFFERED", "{joined}");
    assert_eq!(joined["booking"]["startsAt"], "2026-03-04T08:00:00+00:00", "the first free start");
    assert_eq!(utc(joined["offerExpiresAt"].as_str().unwrap()), utc("2026-03-02T08:30:00Z"));
    assert_eq!(
        app.error_code(&salon.owner, JOIN, wish("2026-03-04", "2026-03-05")).await,
        "CONFLICT",
        "one open entry"
    );
    // Cancelling the offered booking declines it: no fee, the entry closed.
    app.ok(&salon.owner, CANCEL, json!({"id": joined["booking"]["id"]})).await;
    let closed = entry(&app, &salon.owner, &joined["id"]).await;
    assert_eq!(closed["status"], "DECLINED");
    // Declined, the customer may wait again; leaving is final and repeatable.
    let waiting = app.ok(&salon.owner, JOIN, wish("2026-03-05", "2026-03-05")).await["joinWaitlist"].clone();
    assert_eq!(waiting["status"], "OFFERED");
    for _ in 0..2 {
        assert_eq!(app.ok(&salon.owner, LEAVE, json!({"id": waiting["id"]})).await["leaveWaitlist"]["status"], "LEFT");
    }
    let freed = app.rows("SELECT status FROM bookings WHERE offer_expires_at IS NOT NULL").await;
    assert!(freed.iter().all(|r| r.try_get::<String>("", "status").unwrap() == "cancelled"));
    assert_eq!(app.error_code(&salon.owner, ACCEPT, json!({"id": waiting["id"]})).await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn the_waitlist_is_the_businesss_own_and_each_sees_only_theirs() {
    let app = pinned_app().await;
    let salon = salon(&app, "wait-home", 0).await;
    let other = crate::scheduling::salon(&app, "wait-away", 0).await;
    full_wednesday(&app, &salon).await;
    let ana = join(&app, &salon, &salon.customer).await;

    // A customer joins for themselves only, and sees only their own entry.
    let luis = app.add_member(&salon.owner, "luis.w@example.com", &["customer"]).await;
    let own = json!({"input": {"serviceId": salon.service, "earliestDate": WEDNESDAY, "latestDate": WEDNESDAY}});
    let mine = app.ok(&luis, JOIN, own).await["joinWaitlist"].clone();
    assert_eq!(mine["status"], "WAITING");
    let theirs = json!({"input": {"serviceId": salon.service, "customerId": salon.customer}});
    assert_eq!(app.error_code(&luis, JOIN, theirs).await, "FORBIDDEN");
    let seen = app.ok(&luis, ENTRIES, json!({})).await["waitlistEntries"]["edges"].clone();
    assert_eq!(seen.as_array().unwrap().len(), 1);
    assert_eq!(seen[0]["node"]["id"], mine["id"]);
    assert_eq!(entry(&app, &luis, &ana["id"]).await, Value::Null);
    for change in [LEAVE, DECLINE] {
        assert_eq!(app.error_code(&luis, change, json!({"id": ana["id"]})).await, "NOT_FOUND");
    }
    assert_eq!(app.error_code(&luis, ACCEPT, json!({"id": ana["id"]})).await, "NOT_FOUND");

    // Another business sees nothing and touches nothing.
    assert_eq!(app.ok(&other.owner, ENTRIES, json!({})).await["waitlistEntries"]["edges"], json!([]));
    assert_eq!(entry(&app, &other.owner, &ana["id"]).await, Value::Null);
    for change in [ACCEPT, DECLINE, LEAVE] {
        assert_eq!(app.error_code(&other.owner, change, json!({"id": ana["id"]})).await, "NOT_FOUND");
    }
    let across = json!({"input": {"serviceId": salon.service, "customerId": other.customer}});
    assert_eq!(app.error_code(&other.owner, JOIN, across).await, "NOT_FOUND");

    // Staff put customers on the list; they see the entries naming their
    // own provider, and no other.
    let staff = app.add_member(&salon.owner, "desk.w@example.com", &["staff"]).await;
    let ben = customer(&app, &salon, "Ben").await;
    let for_ben = json!({"input": {"serviceId": salon.service, "providerId": salon.provider, "customerId": ben, "earliestDate": WEDNESDAY, "latestDate": WEDNESDAY}});
    let bens = app.ok(&staff, JOIN, for_ben).await["joinWaitlist"].clone();
    assert_eq!(bens["status"], "WAITING");
    assert_eq!(app.ok(&staff, ENTRIES, json!({})).await["waitlistEntries"]["edges"], json!([]));
    assert_eq!(app.error_code(&staff, LEAVE, json!({"id": bens["id"]})).await, "FORBIDDEN");
    let maria = app.add_member(&salon.owner, "maria.w@example.com", &["staff"]).await;
    let link = "mutation($p: ID!, $u: ID) { updateProvider(id: $p, input: {userId: $u}) { id } }";
    app.ok(&salon.owner, link, json!({"p": salon.provider, "u": maria.user_id})).await;
    let hers = app.ok(&maria, ENTRIES, json!({})).await["waitlistEntries"]["edges"].clone();
    assert_eq!(hers.as_array().unwrap().len(), 1, "only the entry asking for her");
    assert_eq!(hers[0]["node"]["id"], bens["id"]);

    // A partner client acts within its scopes.
    let reader = client_token(&app, &salon.owner, &["booking:read"]).await;
    assert_eq!(app.ok(&reader, ENTRIES, json!({})).await["waitlistEntries"]["edges"].as_array().unwrap().len(), 3);
    let again = json!({"input": {"serviceId": salon.service, "customerId": ben}});
    assert_eq!(app.error_code(&reader, JOIN, again).await, "FORBIDDEN");
    assert_eq!(app.error_code(&reader, ACCEPT, json!({"id": ana["id"]})).await, "FORBIDDEN");
    let booker = client_token(&app, &salon.owner, &["booking:create"]).await;
    assert_eq!(app.error_code(&booker, ENTRIES, json!({})).await, "FORBIDDEN");

    // The customer accepts their own offer: the booking is theirs to see.
    app.ok(&salon.owner, LEAVE, json!({"id": ana["id"]})).await;
    let nine = app.ok(&salon.owner, "{ bookings(first: 1) { edges { node { id } } } }", json!({})).await;
    let first_booking = nine["bookings"]["edges"][0]["node"]["id"].clone();
    app.ok(&salon.owner, CANCEL, json!({"id": first_booking})).await;
    let offered = entry(&app, &luis, &mine["id"]).await;
    assert_eq!(offered["status"], "OFFERED", "{offered}");
    let accepted = app.ok(&luis, ACCEPT, json!({"id": mine["id"]})).await["acceptWaitlistOffer"].clone();
    assert_eq!(accepted["status"], "BOOKED");
    let own = app.ok(&luis, "{ bookings { edges { node { id } } } }", json!({})).await;
    assert_eq!(own["bookings"]["edges"][0]["node"]["id"], accepted["booking"]["id"]);
}

#[tokio::test]
async fn an_offer_is_written_in_the_customers_language() {
    let app = pinned_app().await;
    let salon = salon(&app, "wait-es", 0).await;
    let booked = full_wednesday(&app, &salon).await;
    let made =
        "mutation { createCustomer(input: {name: \"Lucía\", email: \"lucia@example.com\", language: \"es\"}) { id } }";
    let lucia = app.ok(&salon.owner, made, json!({})).await["createCustomer"]["id"].as_str().unwrap().to_owned();
    join(&app, &salon, &lucia).await;
    app.ok(&salon.owner, CANCEL, json!({"id": booked[0]})).await;
    let subjects = subjects_to(&app, "lucia@example.com").await;
    assert_eq!(subjects, ["Se ha liberado una cita en Tenant wait-es: 2026-03-04 09:00"]);
    let text = app.email.sent().into_iter().find(|m| m.to == "lucia@example.com").unwrap();
    assert!(text.text.contains("hasta el 2026-03-02 10:00"), "{}", text.text);
}

#[tokio::test]
async fn a_full_class_offers_a_freed_seat_to_the_first_waiting() {
    let app = pinned_app().await;
    let salon = salon(&app, "wait-yoga", 0).await;
    let made = "mutation { createService(input: {name: \"Yoga Flow\", priceMinor: 1500, durationMinutes: 60, classCapacity: 2}) { id } }";
    let class = app.ok(&salon.owner, made, json!({})).await["createService"]["id"].as_str().unwrap().to_owned();
    let assign = "mutation($p: ID!, $s: ID!) { assignService(providerId: $p, serviceId: $s) { id } }";
    app.ok(&salon.owner, assign, json!({"p": salon.provider, "s": class})).await;
    let session = "mutation($s: ID!, $p: ID!) { createClassSession(input: {serviceId: $s, providerId: $p, startsAt: \"2026-03-04T15:00:00Z\"}) { id } }";
    let session =
        app.ok(&salon.owner, session, json!({"s": class, "p": salon.provider})).await["createClassSession"]["id"]
            .clone();
    let seat = "mutation($s: ID!, $c: ID!) { bookClassSeat(input: {sessionId: $s, customerId: $c}) { id } }";
    let mut seats = Vec::new();
    for name in ["Ana", "Ben"] {
        let who = customer(&app, &salon, name).await;
        seats.push(app.ok(&salon.owner, seat, json!({"s": session, "c": who})).await["bookClassSeat"]["id"].clone());
    }
    // Full: four wait for a seat; two seats freed at once go to two of them.
    let mut waiting = Vec::new();
    for name in ["Carla", "Dora", "Eve", "Fay"] {
        let who = customer(&app, &salon, name).await;
        let input = json!({"input": {"serviceId": class, "customerId": who, "earliestDate": WEDNESDAY, "latestDate": WEDNESDAY}});
        let joined = app.ok(&salon.owner, JOIN, input).await["joinWaitlist"].clone();
        assert_eq!(joined["status"], "WAITING", "{joined}");
        waiting.push(joined["id"].clone());
    }
    let cancels = seats.iter().map(|id| app.post(&salon.owner, CANCEL, json!({"id": id})));
    let (answers, _) = tokio::join!(futures_util::future::join_all(cancels), run_waitlist(&app));
    assert!(answers.iter().all(|(_, body)| body["data"]["cancelBooking"]["status"] == "CANCELLED"), "{answers:?}");
    run_waitlist(&app).await;
    let read = "query($id: ID!) { classSession(id: $id) { seatsTaken seatsLeft } }";
    let held = app.ok(&salon.owner, read, json!({"id": session})).await["classSession"].clone();
    assert_eq!(
        (held["seatsTaken"].as_i64(), held["seatsLeft"].as_i64()),
        (Some(2), Some(0)),
        "the offers hold the seats"
    );
    let mut statuses = Vec::new();
    for id in &waiting {
        statuses.push(entry(&app, &salon.owner, id).await["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses.iter().filter(|s| *s == "OFFERED").count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| *s == "WAITING").count(), 2, "{statuses:?}");

    // The first offered accepts its seat; the other runs out and goes to the next.
    let offered: Vec<&Value> =
        waiting.iter().zip(&statuses).filter(|(_, s)| *s == "OFFERED").map(|(id, _)| id).collect();
    let accepted = app.ok(&salon.owner, ACCEPT, json!({"id": offered[0]})).await["acceptWaitlistOffer"].clone();
    assert_eq!(accepted["status"], "BOOKED");
    app.clock.advance(chrono::Duration::minutes(61));
    let owner = app.login("owner@wait-yoga.test").await.in_tenant("wait-yoga");
    assert_eq!(run_waitlist(&app).await, (1, 1), "freed and offered again");
    let held = app.ok(&owner, read, json!({"id": session})).await["classSession"].clone();
    assert_eq!(held["seatsTaken"], 2);
    let roster = "query($s: ID!) { bookings(filter: {classSessionId: $s, status: [SCHEDULED, CONFIRMED]}) { edges { node { id offerExpiresAt } } } }";
    let seated = app.ok(&owner, roster, json!({"s": session})).await["bookings"]["edges"].clone();
    assert_eq!(seated.as_array().unwrap().len(), 2, "{seated}");
}
