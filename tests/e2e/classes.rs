//! Classes and group sessions end to end (issue 22, item 3): a class
//! service is booked seat by seat in its sessions; the database never lets
//! the seats booked pass the capacity, whatever arrives at once (30
//! parallel bookings for 10 seats book exactly 10), nor a customer hold two
//! bookings in one session; cancelling frees the seat; a session holds its
//! instructor's time against appointments, and appointments hold theirs
//! against sessions, under parallel requests too; recurring classes
//! generate sessions in the business's local time, skip what the
//! instructor cannot teach, and stop when ended. Another business, a
//! customer, staff and a partner client reach only what is theirs.

use serde_json::{Value, json};
use tessera_e2e::{Auth, TestApp};

use crate::live_rights::client_token;
use crate::scheduling::{BOOK, Salon, booking_input, pinned_app, salon};

const SESSION: &str = "mutation($input: CreateClassSessionInput!) { createClassSession(input: $input) { id status startsAt endsAt capacity seatsTaken seatsLeft seatsPerCustomer } }";
const SEAT: &str = "mutation($input: BookClassSeatInput!) { bookClassSeat(input: $input) { id status seats classSessionId startsAt endsAt price { amountMinor } customer { id } } }";
const READ: &str = "query($id: ID!) { classSession(id: $id) { id status capacity seatsTaken seatsLeft } }";
const LIST: &str = "query($from: NaiveDate, $to: NaiveDate) { classSessions(from: $from, to: $to, includeCancelled: true) { id status startsAt seatsLeft } }";
const CANCEL_SEAT: &str = "mutation($id: ID!) { cancelBooking(id: $id) { id status } }";
const CANCEL_SESSION: &str =
    "mutation($id: ID!, $r: String) { cancelClassSession(id: $id, reason: $r) { id status cancellationReason } }";
const ROSTER: &str = "query($s: ID!) { bookings(filter: {classSessionId: $s}) { edges { node { id seats } } } }";
const SCHEDULE: &str = "mutation($input: CreateClassScheduleInput!) { createClassSchedule(input: $input) { schedule { id rule firstDate startTime generatedUntil } sessions { id startsAt } skipped { startsAt reason } } }";

/// Wednesday 4 March, 16:00 in Madrid: within Maria's afternoon hours.
const CLASS_AT: &str = "2026-03-04T15:00:00Z";

/// The salon with a yoga class of `capacity` Maria teaches.
async fn studio(app: &TestApp, slug: &str, capacity: i32) -> (Salon, String) {
    let salon = salon(app, slug, 0).await;
    let class = add_class(app, &salon, capacity).await;
    (salon, class)
}

/// A yoga class of `capacity` Maria teaches, in `salon`.
async fn add_class(app: &TestApp, salon: &Salon, capacity: i32) -> String {
    let made = "mutation($c: Int!) { createService(input: {name: \"Yoga Flow\", priceMinor: 1500, durationMinutes: 60, classCapacity: $c}) { id classCapacity } }";
    let class = app.ok(&salon.owner, made, json!({"c": capacity})).await["createService"].clone();
    assert_eq!(class["classCapacity"], capacity);
    let class = class["id"].as_str().unwrap().to_owned();
    let assign = "mutation($p: ID!, $s: ID!) { assignService(providerId: $p, serviceId: $s) { id } }";
    app.ok(&salon.owner, assign, json!({"p": salon.provider, "s": class})).await;
    class
}

async fn session(app: &TestApp, salon: &Salon, class: &str, at: &str, more: Value) -> String {
    let mut input = json!({"serviceId": class, "providerId": salon.provider, "startsAt": at});
    input.as_object_mut().unwrap().extend(more.as_object().cloned().unwrap_or_default());
    app.ok(&salon.owner, SESSION, json!({"input": input})).await["createClassSession"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn customers(app: &TestApp, owner: &Auth, n: usize) -> Vec<String> {
    let made = "mutation($n: String!) { createCustomer(input: {name: $n}) { id } }";
    let mut ids = Vec::new();
    for i in 0..n {
        let name = format!("Student {i}");
        ids.push(app.ok(owner, made, json!({"n": name})).await["createCustomer"]["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn seat(session: &str, customer: Option<&str>, seats: i32) -> Value {
    json!({"input": {"sessionId": session, "customerId": customer, "seats": seats}})
}

async fn seats_taken(app: &TestApp, auth: &Auth, session: &str) -> (i64, i64) {
    let read = app.ok(auth, READ, json!({"id": session})).await["classSession"].clone();
    (read["seatsTaken"].as_i64().unwrap(), read["seatsLeft"].as_i64().unwrap())
}

#[tokio::test]
async fn thirty_parallel_bookings_for_ten_seats_book_exactly_ten() {
    let app = pinned_app().await;
    let (salon, class) = studio(&app, "yoga-rush", 10).await;
    let id = session(&app, &salon, &class, CLASS_AT, json!({})).await;
    let students = customers(&app, &salon.owner, 30).await;

    let attempts = students.iter().map(|c| app.post(&salon.owner, SEAT, seat(&id, Some(c), 1)));
    let answers = futures_util::future::join_all(attempts).await;
    let booked: Vec<&Value> =
        answers.iter().map(|(_, b)| &b["data"]["bookClassSeat"]).filter(|b| b.is_object()).collect();
    let full: Vec<&Value> =
        answers.iter().map(|(_, b)| b).filter(|b| b["errors"][0]["extensions"]["code"] == "CONFLICT").collect();
    assert_eq!((booked.len(), full.len()), (10, 20), "{answers:?}");
    let message = full[0]["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("full") && !message.contains("class_sessions"), "{message}");
    let first = booked[0];
    assert_eq!((first["seats"].clone(), first["classSessionId"].clone()), (json!(1), json!(id)));
    assert_eq!(
        (first["startsAt"].clone(), first["price"]["amountMinor"].clone()),
        (json!("2026-03-04T15:00:00+00:00"), json!(1500))
    );
    assert_eq!(seats_taken(&app, &salon.owner, &id).await, (10, 0));
    let active = app
        .rows("SELECT id FROM bookings WHERE class_session_id IS NOT NULL AND status IN ('scheduled', 'confirmed')")
        .await;
    assert_eq!(active.len(), 10);

    // Cancelling frees the seat for the next student; the roster follows.
    app.ok(&salon.owner, CANCEL_SEAT, json!({"id": first["id"]})).await;
    assert_eq!(seats_taken(&app, &salon.owner, &id).await, (9, 1));
    let mut without = students.iter().filter(|c| !booked.iter().any(|b| b["customer"]["id"] == c.as_str()));
    let next = without.next().unwrap();
    app.ok(&salon.owner, SEAT, seat(&id, Some(next), 1)).await;
    assert_eq!(seats_taken(&app, &salon.owner, &id).await, (10, 0));
    assert_eq!(app.error_code(&salon.owner, SEAT, seat(&id, without.next().map(String::as_str), 1)).await, "CONFLICT");
    let roster = app.ok(&salon.owner, ROSTER, json!({"s": id})).await["bookings"]["edges"].as_array().unwrap().len();
    assert_eq!(roster, 11, "the cancelled seat stays in the list, cancelled");
}

#[tokio::test]
async fn a_customer_holds_one_booking_per_session_of_as_many_seats_as_it_allows() {
    let app = pinned_app().await;
    let (salon, class) = studio(&app, "yoga-one", 10).await;
    let id = session(&app, &salon, &class, CLASS_AT, json!({})).await;
    let ana = salon.customer.as_str();

    // Five parallel requests for one customer: one seat.
    let attempts = (0..5).map(|_| app.post(&salon.owner, SEAT, seat(&id, Some(ana), 1)));
    let answers = futures_util::future::join_all(attempts).await;
    let booked = answers.iter().filter(|(_, b)| b["data"]["bookClassSeat"].is_object()).count();
    assert_eq!(booked, 1, "{answers:?}");
    let again = app.post(&salon.owner, SEAT, seat(&id, Some(ana), 1)).await.1;
    assert_eq!(again["errors"][0]["extensions"]["code"], "CONFLICT");
    assert!(again["errors"][0]["message"].as_str().unwrap().contains("already holds a seat"), "{again}");
    assert_eq!(seats_taken(&app, &salon.owner, &id).await, (1, 9));

    // A session that lets each customer bring friends: up to three seats, priced per seat.
    let family = session(&app, &salon, &class, "2026-03-05T15:00:00Z", json!({"seatsPerCustomer": 3})).await;
    assert_eq!(app.error_code(&salon.owner, SEAT, seat(&family, Some(ana), 4)).await, "BAD_USER_INPUT");
    let three = app.ok(&salon.owner, SEAT, seat(&family, Some(ana), 3)).await["bookClassSeat"].clone();
    assert_eq!((three["seats"].clone(), three["price"]["amountMinor"].clone()), (json!(3), json!(4500)));
    assert_eq!(seats_taken(&app, &salon.owner, &family).await, (3, 7));
    app.ok(&salon.owner, CANCEL_SEAT, json!({"id": three["id"]})).await;
    assert_eq!(seats_taken(&app, &salon.owner, &family).await, (0, 10));

    // A seat keeps its session; a class is not booked as an appointment.
    let moved = "mutation($id: ID!) { rescheduleBooking(id: $id, startsAt: \"2026-03-06T15:00:00Z\") { id } }";
    let seat_id = answers.iter().find_map(|(_, b)| b["data"]["bookClassSeat"]["id"].as_str()).unwrap();
    assert_eq!(app.error_code(&salon.owner, moved, json!({"id": seat_id})).await, "BAD_USER_INPUT");
    let mut as_appointment = booking_input(&salon, "2026-03-06T09:00:00Z");
    as_appointment["input"]["serviceId"] = json!(class);
    assert_eq!(app.error_code(&salon.owner, BOOK, as_appointment).await, "BAD_USER_INPUT");
    let search = "query($s: ID!) { availability(serviceId: $s) { startsAt } }";
    assert_eq!(app.error_code(&salon.owner, search, json!({"s": class})).await, "BAD_USER_INPUT");
    // A cancelled session takes no seat.
    app.ok(&salon.owner, CANCEL_SESSION, json!({"id": family})).await;
    assert_eq!(app.error_code(&salon.owner, SEAT, seat(&family, Some(ana), 1)).await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_session_and_an_appointment_never_share_the_instructors_time() {
    let app = pinned_app().await;
    let (salon, class) = studio(&app, "yoga-time", 10).await;
    let id = session(&app, &salon, &class, CLASS_AT, json!({})).await;
    // The class's hour is not offered for appointments, nor bookable.
    let search =
        "query($s: ID!) { availability(serviceId: $s, from: \"2026-03-04\", to: \"2026-03-04\") { startsAt } }";
    let starts = app.ok(&salon.owner, search, json!({"s": salon.service})).await["availability"].clone();
    let starts: Vec<&str> = starts.as_array().unwrap().iter().map(|s| s["startsAt"].as_str().unwrap()).collect();
    assert!(!starts.iter().any(|s| *s > "2026-03-04T14:00:00+00:00" && *s < "2026-03-04T16:00:00+00:00"), "{starts:?}");
    assert!(starts.contains(&"2026-03-04T14:00:00+00:00") && starts.contains(&"2026-03-04T16:00:00+00:00"));
    let code = app.post(&salon.owner, BOOK, booking_input(&salon, "2026-03-04T15:30:00Z")).await.1;
    assert_eq!(code["errors"][0]["extensions"]["code"], "CONFLICT");
    assert!(code["errors"][0]["message"].as_str().unwrap().contains("teaches a class"), "{code}");
    // Nor is a second session, nor one over an appointment.
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-05T15:00:00Z")).await;
    let over = json!({"input": {"serviceId": class, "providerId": salon.provider, "startsAt": "2026-03-05T15:30:00Z"}});
    assert_eq!(app.error_code(&salon.owner, SESSION, over).await, "CONFLICT");
    let twice =
        json!({"input": {"serviceId": class, "providerId": salon.provider, "startsAt": "2026-03-04T15:30:00Z"}});
    assert_eq!(app.error_code(&salon.owner, SESSION, twice).await, "CONFLICT");
    assert_eq!(seats_taken(&app, &salon.owner, &id).await, (0, 10));

    // In parallel: appointments and a session for one free hour; exactly one wins.
    let session_input =
        json!({"input": {"serviceId": class, "providerId": salon.provider, "startsAt": "2026-03-06T09:00:00Z"}});
    let appointments = (0..9).map(|_| app.post(&salon.owner, BOOK, booking_input(&salon, "2026-03-06T09:00:00Z")));
    let (sessions, appointments) = tokio::join!(
        futures_util::future::join_all((0..3).map(|_| app.post(&salon.owner, SESSION, session_input.clone()))),
        futures_util::future::join_all(appointments),
    );
    let won = sessions.iter().filter(|(_, b)| b["data"]["createClassSession"].is_object()).count()
        + appointments.iter().filter(|(_, b)| b["data"]["createBooking"].is_object()).count();
    assert_eq!(won, 1, "{sessions:?} {appointments:?}");
    for (_, body) in sessions.iter().chain(&appointments).filter(|(_, b)| b.get("errors").is_some()) {
        assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
    }
}

#[tokio::test]
async fn a_recurring_class_generates_sessions_in_local_time_and_skips_what_cannot_be_taught() {
    let app = pinned_app().await;
    let (salon, class) = studio(&app, "yoga-weekly", 12).await;
    // Maria is booked at the class's hour on Wednesday 11 March.
    app.ok(&salon.owner, BOOK, booking_input(&salon, "2026-03-11T15:00:00Z")).await;
    let input = json!({"input": {"serviceId": class, "providerId": salon.provider, "weekdays": ["MONDAY", "WEDNESDAY"], "startTime": "16:00", "firstDate": "2026-03-02", "count": 9}});
    let made = app.ok(&salon.owner, SCHEDULE, input).await["createClassSchedule"].clone();
    assert_eq!(made["schedule"]["rule"], "FREQ=WEEKLY;COUNT=9;BYHOUR=16;BYMINUTE=0;BYSECOND=0;BYDAY=MO,WE", "{made}");
    assert_eq!(
        (made["schedule"]["startTime"].clone(), made["schedule"]["firstDate"].clone()),
        (json!("16:00"), json!("2026-03-02"))
    );
    let starts: Vec<&str> =
        made["sessions"].as_array().unwrap().iter().map(|s| s["startsAt"].as_str().unwrap()).collect();
    // 16:00 in Madrid: 15:00 UTC in winter, 14:00 from 29 March.
    assert_eq!(
        starts,
        [
            "2026-03-02T15:00:00+00:00",
            "2026-03-04T15:00:00+00:00",
            "2026-03-09T15:00:00+00:00",
            "2026-03-16T15:00:00+00:00",
            "2026-03-18T15:00:00+00:00",
            "2026-03-23T15:00:00+00:00",
            "2026-03-25T15:00:00+00:00",
            "2026-03-30T14:00:00+00:00",
        ]
    );
    assert_eq!(made["skipped"].as_array().unwrap().len(), 1, "{made}");
    assert_eq!(made["skipped"][0]["startsAt"], "2026-03-11T15:00:00+00:00");
    assert!(made["skipped"][0]["reason"].as_str().unwrap().contains("already booked"), "{made}");
    let listed = app.ok(&salon.owner, LIST, json!({"from": "2026-03-02", "to": "2026-03-08"})).await;
    assert_eq!(listed["classSessions"].as_array().unwrap().len(), 2);

    // An open schedule reaches the booking horizon (90 days) and grows as days pass.
    let open = json!({"input": {"serviceId": class, "providerId": salon.provider, "weekdays": ["FRIDAY"], "startTime": "10:00", "firstDate": "2026-03-06"}});
    let weekly = app.ok(&salon.owner, SCHEDULE, open).await["createClassSchedule"].clone();
    let generated = weekly["sessions"].as_array().unwrap().len();
    assert_eq!(generated, 13, "Fridays from 6 March to 29 May: {weekly}");
    app.clock.advance(chrono::Duration::days(14));
    let made = app.state.services.scheduling.extend_class_schedules(app.now()).await.expect("the job runs");
    assert_eq!(made, 2, "two more Fridays came within reach");
    let schedule = weekly["schedule"]["id"].clone();

    // Ending it cancels the empty sessions to come and keeps those with seats.
    let owner = app.login("owner@yoga-weekly.test").await.in_tenant("yoga-weekly");
    let friday = "2026-04-03";
    let fridays = app.ok(&owner, LIST, json!({"from": friday, "to": friday})).await["classSessions"][0]["id"].clone();
    app.ok(&owner, SEAT, seat(fridays.as_str().unwrap(), Some(&salon.customer), 1)).await;
    let end = "mutation($id: ID!) { endClassSchedule(id: $id) { id endedAt } }";
    assert!(app.ok(&owner, end, json!({"id": schedule})).await["endClassSchedule"]["endedAt"].is_string());
    let april = app.ok(&owner, LIST, json!({"from": "2026-04-01", "to": "2026-04-30"})).await["classSessions"].clone();
    let fridays: Vec<(&str, &str)> = april
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["startsAt"].as_str().unwrap().contains("T08:00:00"))
        .map(|s| (s["startsAt"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(fridays[0], ("2026-04-03T08:00:00+00:00", "SCHEDULED"), "{fridays:?}");
    assert!(fridays[1..].iter().all(|(_, status)| *status == "CANCELLED"), "{fridays:?}");
    assert_eq!(app.state.services.scheduling.extend_class_schedules(app.now()).await.unwrap(), 0);
    assert_eq!(app.error_code(&owner, end, json!({"id": schedule})).await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn cancelling_a_session_cancels_its_seats_and_tells_each_customer() {
    let app = pinned_app().await;
    let (salon, class) = studio(&app, "yoga-off", 10).await;
    let id = session(&app, &salon, &class, CLASS_AT, json!({})).await;
    let students = customers(&app, &salon.owner, 1).await;
    let set_email = "mutation($id: ID!) { updateCustomer(id: $id, input: {email: \"student@example.com\"}) { id } }";
    app.ok(&salon.owner, set_email, json!({"id": students[0]})).await;
    for customer in [salon.customer.as_str(), students[0].as_str()] {
        app.ok(&salon.owner, SEAT, seat(&id, Some(customer), 1)).await;
    }
    app.deliver().await;
    let before = app.email.sent().len();
    let cancelled = app.ok(&salon.owner, CANCEL_SESSION, json!({"id": id, "r": "The teacher is ill"})).await;
    assert_eq!(cancelled["cancelClassSession"]["status"], "CANCELLED");
    let roster = app.ok(&salon.owner, "query($s: ID!) { bookings(filter: {classSessionId: $s}) { edges { node { status cancellation { reason } } } } }", json!({"s": id})).await;
    for edge in roster["bookings"]["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["status"], "CANCELLED");
        assert_eq!(edge["node"]["cancellation"]["reason"], "The teacher is ill");
    }
    app.deliver().await;
    let told: Vec<String> = app.email.sent()[before..].iter().map(|m| m.to.clone()).collect();
    assert!(
        told.contains(&"ana@example.com".to_owned()) && told.contains(&"student@example.com".to_owned()),
        "{told:?}"
    );
    assert_eq!(app.error_code(&salon.owner, CANCEL_SESSION, json!({"id": id})).await, "BAD_USER_INPUT");
    // Audited, and each seat's event names its session.
    let audit = app.rows("SELECT action FROM audit_records WHERE action LIKE 'class_session.%'").await;
    assert_eq!(audit.len(), 2);
    let events = app.rows("SELECT payload FROM outbox WHERE kind = 'booking.created'").await;
    assert_eq!(events.len(), 2);
    for event in events {
        let payload: String = event.try_get("", "payload").unwrap();
        assert!(payload.contains(&id) && payload.contains("\"seats\":1"), "{payload}");
    }
}

#[tokio::test]
async fn another_business_a_customer_staff_and_a_partner_reach_only_their_own() {
    let app = pinned_app().await;
    let (salon, class) = studio(&app, "yoga-home", 10).await;
    let id = session(&app, &salon, &class, CLASS_AT, json!({})).await;
    let (other, _) = studio(&app, "yoga-away", 10).await;
    let theirs =
        json!({"input": {"serviceId": class, "providerId": salon.provider, "startsAt": "2026-03-05T15:00:00Z"}});

    // Another business sees nothing and touches nothing.
    assert!(app.ok(&other.owner, READ, json!({"id": id})).await["classSession"].is_null());
    let listed = app.ok(&other.owner, LIST, json!({"from": "2026-03-04", "to": "2026-03-04"})).await;
    assert_eq!(listed["classSessions"], json!([]));
    assert_eq!(app.error_code(&other.owner, SEAT, seat(&id, Some(&other.customer), 1)).await, "NOT_FOUND");
    assert_eq!(app.error_code(&other.owner, CANCEL_SESSION, json!({"id": id})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&other.owner, SESSION, theirs.clone()).await, "NOT_FOUND");
    assert_eq!(seats_taken(&app, &salon.owner, &id).await, (0, 10));

    // A customer sees sessions and books their own seat, nobody else's; sees only theirs.
    let member = app.add_member(&salon.owner, "luis@example.com", &["customer"]).await;
    let listed = app.ok(&member, LIST, json!({"from": "2026-03-04", "to": "2026-03-04"})).await;
    assert_eq!(listed["classSessions"][0]["id"], id.as_str());
    let own = app.ok(&member, SEAT, seat(&id, None, 1)).await["bookClassSeat"].clone();
    assert_eq!(own["seats"], 1);
    assert_eq!(app.error_code(&member, SEAT, seat(&id, Some(&salon.customer), 1)).await, "FORBIDDEN");
    app.ok(&salon.owner, SEAT, seat(&id, Some(&salon.customer), 1)).await;
    let roster = app.ok(&member, ROSTER, json!({"s": id})).await["bookings"]["edges"].clone();
    assert_eq!(roster.as_array().unwrap().len(), 1, "only their own seat: {roster}");
    assert_eq!(roster[0]["node"]["id"], own["id"]);
    assert_eq!(app.error_code(&member, SESSION, theirs.clone()).await, "FORBIDDEN");
    assert_eq!(app.error_code(&member, CANCEL_SESSION, json!({"id": id})).await, "FORBIDDEN");

    // Staff book for customers; the instructor sees the whole roster, others none.
    let staff = app.add_member(&salon.owner, "desk@example.com", &["staff"]).await;
    assert_eq!(app.ok(&staff, ROSTER, json!({"s": id})).await["bookings"]["edges"], json!([]));
    assert_eq!(app.error_code(&staff, SESSION, theirs.clone()).await, "FORBIDDEN");
    let maria = app.add_member(&salon.owner, "maria@example.com", &["staff"]).await;
    let link = "mutation($p: ID!, $u: ID) { updateProvider(id: $p, input: {userId: $u}) { id } }";
    app.ok(&salon.owner, link, json!({"p": salon.provider, "u": maria.user_id})).await;
    assert_eq!(app.ok(&maria, ROSTER, json!({"s": id})).await["bookings"]["edges"].as_array().unwrap().len(), 2);

    // A partner client sees sessions with its scopes, and manages none.
    let partner = client_token(&app, &salon.owner, &["booking:create", "booking:read"]).await;
    assert_eq!(app.ok(&partner, READ, json!({"id": id})).await["classSession"]["seatsTaken"], 2);
    assert_eq!(app.ok(&partner, ROSTER, json!({"s": id})).await["bookings"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(app.error_code(&partner, SESSION, theirs).await, "FORBIDDEN");
    assert_eq!(app.error_code(&partner, CANCEL_SESSION, json!({"id": id})).await, "FORBIDDEN");
    let reader = client_token(&app, &salon.owner, &["booking:read"]).await;
    assert_eq!(app.error_code(&reader, READ, json!({"id": id})).await, "FORBIDDEN");

    // Recurring classes too: another business neither lists nor ends them.
    let weekly = json!({"input": {"serviceId": class, "providerId": salon.provider, "weekdays": ["THURSDAY"], "startTime": "10:00", "firstDate": "2026-03-05", "count": 2}});
    let schedule =
        app.ok(&salon.owner, SCHEDULE, weekly.clone()).await["createClassSchedule"]["schedule"]["id"].clone();
    let schedules = "{ classSchedules { id } }";
    assert_eq!(app.ok(&salon.owner, schedules, json!({})).await["classSchedules"][0]["id"], schedule);
    assert_eq!(app.ok(&other.owner, schedules, json!({})).await["classSchedules"], json!([]));
    let end = "mutation($id: ID!) { endClassSchedule(id: $id) { id } }";
    assert_eq!(app.error_code(&other.owner, end, json!({"id": schedule})).await, "NOT_FOUND");
    assert_eq!(app.error_code(&other.owner, SCHEDULE, weekly.clone()).await, "NOT_FOUND");
    assert_eq!(app.error_code(&member, SCHEDULE, weekly.clone()).await, "FORBIDDEN");
    assert_eq!(app.error_code(&partner, SCHEDULE, weekly).await, "FORBIDDEN");
    assert_eq!(app.error_code(&member, end, json!({"id": schedule})).await, "FORBIDDEN");
}

#[tokio::test]
async fn a_seat_waiting_for_its_deposit_holds_its_place_until_the_hold_runs_out() {
    let (app, _fake) = crate::booking_payments::app_with_fake().await;
    let (salon, ana) = crate::booking_payments::deposit_salon(&app, "yoga-deposit").await;
    let class = add_class(&app, &salon, 1).await;
    let id = session(&app, &salon, &class, CLASS_AT, json!({})).await;
    let waiting = app.ok(&ana, SEAT, seat(&id, None, 1)).await["bookClassSeat"].clone();
    assert_eq!(waiting["status"], "SCHEDULED");
    let held = app
        .ok(
            &ana,
            "query($id: ID!) { booking(id: $id) { awaitingPayment payments { amount { amountMinor } } } }",
            json!({"id": waiting["id"]}),
        )
        .await;
    assert_eq!(held["booking"]["awaitingPayment"], true);
    assert_eq!(held["booking"]["payments"][0]["amount"]["amountMinor"], 300, "20 % of the seat");
    let others = customers(&app, &salon.owner, 1).await;
    assert_eq!(app.error_code(&salon.owner, SEAT, seat(&id, Some(&others[0]), 1)).await, "CONFLICT");

    // Unpaid past its hold, the seat goes to the next customer who asks.
    app.clock.advance(chrono::Duration::minutes(16));
    let (owner, _) = crate::booking_payments::again(&app, "yoga-deposit").await;
    app.ok(&owner, SEAT, seat(&id, Some(&others[0]), 1)).await;
    assert_eq!(seats_taken(&app, &owner, &id).await, (1, 0));
    let gone = app.ok(&owner, "query($id: ID!) { booking(id: $id) { status } }", json!({"id": waiting["id"]})).await;
    assert_eq!(gone["booking"]["status"], "CANCELLED");
}
