//! Scheduling: who works when, what can be booked, and the bookings themselves.
//!
//! - **Catalogue**: providers (staff) with weekly hours in the tenant's timezone
//!   (several windows a day for split shifts) and dated exceptions (time off,
//!   holidays, special opening hours); services with price, duration and buffers;
//!   add-ons; which provider offers which service, at the service's price and
//!   length or their own (module `offering`); customers.
//! - **Availability** ([`availability`]): bookable starts for a service over a date
//!   range, computed in memory from a fixed number of queries, correct across
//!   daylight-saving changes.
//! - **Bookings**: price and duration computed by the server and snapshotted with
//!   the add-ons; a status machine; idempotency keys; cancellation with the refund
//!   the tenant's policy gives; one review per completed booking.
//!
//! Two active bookings of one provider can never overlap: PostgreSQL refuses it with
//! an exclusion constraint, SQLite with a trigger under `BEGIN IMMEDIATE`. The
//! services map the refusal to `CONFLICT`; they do not rely on checking first.
//!
//! Every method takes the [`RequestContext`](tessera_kernel::RequestContext) first
//! and checks its permission; every query names the tenant. Object-level rules
//! (module `reach`): a user linked to a provider or a customer record reaches their own
//! calendar and bookings with the `*_own` permissions, and a role granted on one
//! provider reaches that provider's records.
//!
//! Booking changes queue their messages in the same transaction (module
//! `notices`): the customer's confirmation, change and cancellation, a reminder
//! before the start (withdrawn when the booking moves or ends), and the tenant's
//! webhook events.
//!
//! What the tenant's tier limits is counted in the same transactions (module
//! `quota`): bookings made per month and active providers.
//!
//! A business that asks a deposit or prepayment gets bookings that wait for
//! their payment, holding their time until it is due (module
//! `payment_holds`); billing, which talks to the payment provider, ends the
//! wait in its own transaction. Scheduling never calls a provider. Terms
//! that keep a card make a booking wait for the customer's card too, record
//! the fees it agreed to, and write the no-show or late-cancellation fee as
//! a payment in the transaction that marks it (module `booking_fees`).
//!
//! A provider's or a customer's bookings are also an iCalendar feed at a
//! secret, revocable URL (modules `calendar_feeds` and `calendar_ics`).
//!
//! A service can be a class, taught to several customers at once: it is
//! booked seat by seat in its sessions (module `classes`), which hold their
//! instructor's time; the database counts the seats and refuses one too
//! many. Recurring classes (module `class_schedules`) generate sessions
//! from an RFC 5545 rule (module `recurrence`), and so do series of
//! recurring appointments (module `booking_series`): each occurrence an
//! ordinary booking.
//!
//! A customer can wait for a service (module `waitlist`): time that frees
//! is offered to the first one waiting whose wish it fits, as a booking
//! that holds it for them until the offer runs out (module
//! `waitlist_offers`; how it ends, `waitlist_ends`), so the no-overlap
//! rule keeps one offer per time; for a class, a seat the session counts.

mod any_provider;
pub mod availability;
mod bookable;
mod booking;
mod booking_fees;
mod booking_keys;
mod booking_reads;
mod booking_record;
mod booking_series;
mod calendar_feeds;
mod calendar_ics;
mod catalog;
mod class_schedules;
mod classes;
mod convert;
mod customer_export;
mod customer_merge;
mod customers;
mod entity;
mod lifecycle;
mod model;
mod notices;
mod offering;
mod payment_holds;
mod quota;
mod reach;
mod recurrence;
mod resource_holds;
mod reviews;
mod service;
mod service_catalog;
mod waitlist;
mod waitlist_ends;
mod waitlist_offers;

pub use availability::Slot;
pub use bookable::{AvailabilityQuery, MAX_AVAILABILITY_DAYS, MAX_AVAILABILITY_SLOTS};
pub use booking_reads::BookingParties;
pub use booking_series::{
    BookingSeries, MAX_SERIES_OCCURRENCES, NewBookingSeries, SeriesMove, SeriesReport, SeriesScope,
};
pub use calendar_feeds::{CalendarFeed, FeedSubject, MAX_FEED_EVENTS, MAX_FEEDS_PER_SUBJECT, NewCalendarFeed};
pub use catalog::ExceptionInput;
pub use class_schedules::{ClassSchedule, NewClassSchedule, ScheduledClasses, SkippedOccurrence};
pub use classes::{
    ClassSession, ClassSessionQuery, MAX_SESSION_SEARCH_DAYS, MAX_SESSIONS_LISTED, NewClassSession, NewSeatBooking,
};
pub use customer_export::MAX_EXPORTED_BOOKINGS;
pub use model::{
    Addon, AddonInput, AddonPatch, BookedAddon, Booking, BookingCustomer, BookingFilter, BookingStatus, Customer,
    CustomerInput, CustomerPatch, CustomerProfile, DayWindow, ExceptionKind, MAX_CLASS_CAPACITY, MAX_PRICE_MINOR,
    NewBooking, NewWaitlistEntry, OpeningMode, Provider, ProviderInput, ProviderPatch, ProviderType, ResourceNeed,
    Review, ScheduleException, Service, ServiceInput, ServicePatch, WaitlistEntry, WaitlistFilter, WaitlistStatus,
    WeeklyHours, WeeklyInterval,
};
pub use offering::{Offering, OfferingTerms};
pub use payment_holds::Unpaid;
pub use recurrence::{MAX_OCCURRENCES, WeeklyRule};
pub use service::SchedulingService;
pub use waitlist_offers::{MAX_WAITLIST_DAYS, WaitlistRun};
