//! Tenant domain types, by area: the tenant itself (`tenant`) and its settings
//! and feature flags (`settings`). Inputs become these validated types at the
//! edge; a value of one of them is valid by construction.

mod settings;
mod tenant;

pub use settings::*;
pub use tenant::*;

#[cfg(test)]
mod tests {
    use tessera_kernel::Permission;

    use super::*;

    #[test]
    fn slugs_accept_words_joined_by_single_hyphens() {
        assert_eq!(Slug::parse("salon-bella-2").map(|s| s.to_string()).ok(), Some("salon-bella-2".into()));
    }

    #[test]
    fn slugs_refuse_uppercase_edges_reserved_words_and_uuids() {
        for bad in
            ["Salon", "-salon", "salon-", "sa--lon", "ab", "admin", "0190b1c2-7d4e-7a3b-9c1d-2e3f4a5b6c7d", "salón"]
        {
            assert!(Slug::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn locales_are_canonicalised() {
        assert_eq!(parse_locale("en_us").ok(), Some("en-US".into()));
        assert_eq!(parse_locale("zh-hant-tw").ok(), Some("zh-Hant-TW".into()));
        assert_eq!(parse_locale("es-419").ok(), Some("es-419".into()));
        assert!(parse_locale("english").is_err());
        assert!(parse_locale("en-US-CA").is_err());
    }

    #[test]
    fn timezones_must_be_iana_names() {
        assert_eq!(parse_timezone("Europe/Madrid").ok(), Some("Europe/Madrid".into()));
        assert!(parse_timezone("CEST+2").is_err());
    }

    #[test]
    fn settings_reject_a_slot_step_that_does_not_divide_a_day() {
        let settings = TenantSettings { slot_step_minutes: 7, ..TenantSettings::default() };
        assert!(settings.validate().is_err());
        assert!(TenantSettings::default().validate().is_ok());
    }

    #[test]
    fn the_refund_follows_the_notice_given() {
        let settings = TenantSettings::default();
        assert_eq!(settings.refund_for_cancellation(10_000, chrono::Duration::hours(30)), 10_000);
        assert_eq!(settings.refund_for_cancellation(10_000, chrono::Duration::hours(5)), 5_000);
        assert_eq!(settings.refund_for_cancellation(10_000, chrono::Duration::minutes(30)), 0);
        // Exactly on a tier's notice is that tier, in whole minutes.
        assert_eq!(settings.refund_for_cancellation(10_000, chrono::Duration::hours(24)), 10_000);
        assert_eq!(settings.refund_for_cancellation(10_000, chrono::Duration::minutes(24 * 60 - 1)), 5_000);
        assert_eq!(settings.refund_for_cancellation(10_000, chrono::Duration::hours(4)), 5_000);
        assert_eq!(settings.refund_for_cancellation(10_000, chrono::Duration::minutes(4 * 60 - 1)), 0);
    }

    #[test]
    fn feature_flag_names_are_checked() {
        assert!(FeatureFlags::new([("online-booking".to_string(), true)]).is_ok());
        assert!(FeatureFlags::new([("Online Booking".to_string(), true)]).is_err());
    }

    #[test]
    fn members_of_a_tenant_pending_deletion_can_only_read_and_restore() {
        let status = TenantStatus::PendingDeletion;
        assert!(status.allows(Permission::TenantDelete));
        assert!(status.allows(Permission::TenantRead));
        assert!(!status.allows(Permission::TenantManage));
        assert!(TenantStatus::Suspended.allows(Permission::BookingRead));
        assert!(!TenantStatus::Suspended.allows(Permission::BookingCreate));
    }
}
