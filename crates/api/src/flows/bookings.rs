//! Booking for oneself spans two domains: `scheduling` keeps the customer
//! profile, `identity` knows the caller's name and address.

use tessera_kernel::{CustomerId, RequestContext};
use tessera_scheduling::{BookingCustomer, CustomerProfile};

use crate::error::ApiResult;
use crate::services::Services;

/// Who a booking is for: the given customer, or, without one, the caller,
/// whose customer profile the booking finds or creates under their own name
/// and address.
pub(crate) async fn customer(
    services: &Services,
    request: &RequestContext,
    customer_id: Option<CustomerId>,
) -> ApiResult<BookingCustomer> {
    Ok(match customer_id {
        Some(id) => BookingCustomer::Existing(id),
        None => {
            let me = services.identity.me(request).await?;
            BookingCustomer::Myself(CustomerProfile { name: me.display_name, email: Some(me.email) })
        }
    })
}
