//! Scheduling domain types, by area: the catalogue (`catalog`), bookings
//! (`booking`), the waitlist (`waitlist`), and the checks that turn what
//! callers type into validated values at the edge (`parse`).

mod booking;
mod catalog;
mod parse;
mod waitlist;

pub use booking::*;
pub use catalog::*;
pub use parse::*;
pub use waitlist::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookings_follow_the_state_machine() {
        use BookingStatus::*;
        assert!(Scheduled.transition(Confirmed).is_ok());
        assert!(Confirmed.transition(InProgress).is_ok());
        assert!(InProgress.transition(Completed).is_ok());
        assert!(Completed.transition(Cancelled).is_err());
        assert!(Cancelled.transition(Confirmed).is_err());
        assert!(Scheduled.transition(Completed).is_err(), "a booking must start before it completes");
    }

    #[test]
    fn phones_are_e164() {
        assert_eq!(parse_phone("phone", Some("+15551234567")).ok(), Some(Some("+15551234567".into())));
        for bad in ["5551234567", "+0123", "+1 555 123", "+1234567890123456"] {
            assert!(parse_phone("phone", Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_stay_within_a_day() {
        assert!(DayWindow::new("w", 540, 1020).is_ok());
        assert!(DayWindow::new("w", 600, 600).is_err());
        assert!(DayWindow::new("w", 1000, 1441).is_err());
    }
}
