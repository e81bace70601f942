//! Customers: the people bookings are for.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_scheduling::{BookingFilter, Customer, CustomerInput, CustomerPatch};

use super::bookings::{BookingObject, bookings_page};
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::patch::{kept_cleared_or_set, kept_or_set, parse_link};
use crate::graphql::{Requires, RequiresOrOwn, loaders, parse_id, request, services};

/// A tenant's customer.
#[derive(Clone)]
pub(crate) struct CustomerObject(pub(crate) Customer);

#[Object(name = "Customer")]
impl CustomerObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Email.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Phone (E.164).
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Notes for staff (not shown to the customer reading their own profile).
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The language the business writes to them in (BCP 47: `es`,
    /// `pt-BR`); null: the business's own locale.
    async fn language(&self) -> Option<&str> {
        self.0.language.as_deref()
    }
    /// The member account linked to this customer, if any.
    async fn user_id(&self) -> Option<ID> {
        self.0.user_id.map(|id| ID(id.to_string()))
    }
    /// When they were added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Their bookings, by start time: their whole history in one place.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn bookings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, BookingObject>> {
        let filter = BookingFilter { customer_id: Some(self.0.id), ..BookingFilter::default() };
        bookings_page(ctx, &filter, first, after, last, before).await
    }
}

/// A customer's details.
#[derive(InputObject)]
pub(crate) struct CustomerDetailsInput {
    /// Name.
    name: String,
    /// Email.
    email: Option<String>,
    /// Phone, E.164.
    phone: Option<String>,
    /// Notes for staff.
    notes: Option<String>,
    /// The member account this customer is: they then see their own bookings and
    /// profile and book for themselves.
    user_id: MaybeUndefined<ID>,
    /// The language to write to them in (`es`, `pt-BR`); the business's
    /// locale when omitted.
    language: Option<String>,
}

impl TryFrom<CustomerDetailsInput> for CustomerInput {
    type Error = ApiError;

    fn try_from(i: CustomerDetailsInput) -> ApiResult<Self> {
        Ok(Self {
            name: i.name,
            email: i.email,
            phone: i.phone,
            notes: i.notes,
            user_id: parse_link(i.user_id)?,
            language: i.language,
        })
    }
}

/// Changes to a customer; omitted fields keep their value, null clears one that
/// may be empty.
#[derive(InputObject)]
pub(crate) struct UpdateCustomerInput {
    /// Name.
    name: MaybeUndefined<String>,
    /// Email.
    email: MaybeUndefined<String>,
    /// Phone, E.164.
    phone: MaybeUndefined<String>,
    /// Notes for staff.
    notes: MaybeUndefined<String>,
    /// The member account this customer is; null unlinks it.
    user_id: MaybeUndefined<ID>,
    /// The language to write to them in; null: the business's locale.
    language: MaybeUndefined<String>,
}

impl TryFrom<UpdateCustomerInput> for CustomerPatch {
    type Error = ApiError;

    fn try_from(i: UpdateCustomerInput) -> ApiResult<Self> {
        Ok(Self {
            name: kept_or_set("name", i.name)?,
            email: kept_cleared_or_set(i.email),
            phone: kept_cleared_or_set(i.phone),
            notes: kept_cleared_or_set(i.notes),
            user_id: parse_link(i.user_id)?,
            language: kept_cleared_or_set(i.language),
        })
    }
}

/// Queries about customers.
#[derive(Default)]
pub(super) struct CustomerQueries;

#[operations]
#[Object]
impl CustomerQueries {
    /// The tenant's customers; `search` matches name, email or phone.
    #[access(RequiresOrOwn(Permission::CustomerRead, Permission::CustomerReadOwn))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        search: Option<String>,
    ) -> ApiResult<Connection<String, CustomerObject>> {
        let page = services(ctx)?
            .scheduling
            .customers(request(ctx)?, &page_request(first, after, last, before), search.as_deref())
            .await?;
        Ok(connection(page, |c| c.id.as_uuid(), CustomerObject))
    }

    /// A customer by id.
    #[access(RequiresOrOwn(Permission::CustomerRead, Permission::CustomerReadOwn))]
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<CustomerObject>> {
        let id = parse_id("id", &id)?;
        Ok(loaders(ctx)?.customers().load_one(id).await?.map(CustomerObject))
    }
}

/// Mutations about customers.
#[derive(Default)]
pub(super) struct CustomerMutations;

#[operations]
#[Object]
impl CustomerMutations {
    /// Adds a customer.
    #[access(Requires(Permission::CustomerManage))]
    async fn create_customer(&self, ctx: &Context<'_>, input: CustomerDetailsInput) -> ApiResult<CustomerObject> {
        Ok(CustomerObject(services(ctx)?.scheduling.create_customer(request(ctx)?, input.try_into()?).await?))
    }

    /// Changes a customer.
    #[access(Requires(Permission::CustomerManage))]
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCustomerInput,
    ) -> ApiResult<CustomerObject> {
        Ok(CustomerObject(
            services(ctx)?.scheduling.update_customer(request(ctx)?, parse_id("id", &id)?, input.try_into()?).await?,
        ))
    }

    /// Merges two records of one person: `mergeId`'s bookings, series,
    /// reviews, waitlist entries, payments and kept card follow to
    /// `keepId`, its details fill `keepId`'s blanks (notes are joined), its
    /// calendar feeds stop, and the record is gone. Audited. `CONFLICT`,
    /// nothing changed, when both hold a seat in one session, wait for one
    /// service, or are linked to an account.
    #[access(Requires(Permission::CustomerManage))]
    async fn merge_customers(&self, ctx: &Context<'_>, keep_id: ID, merge_id: ID) -> ApiResult<CustomerObject> {
        let (kept, merged) = (parse_id("keepId", &keep_id)?, parse_id("mergeId", &merge_id)?);
        Ok(CustomerObject(services(ctx)?.scheduling.merge_customers(request(ctx)?, kept, merged).await?))
    }

    /// Everything the business holds about a customer, as one JSON document
    /// (the right of access under the GDPR): the record, every booking
    /// (newest first, at most 5,000: `bookingsTruncated` says when there
    /// were more) with its add-ons and payments, reviews, waitlist entries,
    /// calendar feeds and the card kept. Audited. For those who manage
    /// customers, and for a customer, their own record.
    #[access(RequiresOrOwn(Permission::CustomerManage, Permission::CustomerReadOwn))]
    async fn export_customer_data(&self, ctx: &Context<'_>, customer_id: ID) -> ApiResult<Json<serde_json::Value>> {
        let id = parse_id("customerId", &customer_id)?;
        Ok(Json(services(ctx)?.scheduling.export_customer(request(ctx)?, id).await?))
    }
}
