//! The access rules, tested on the service itself over the real migrations (an
//! in-memory SQLite database, `tessera-testkit`): nobody grants or takes away what
//! they do not hold, a tenant keeps an owner, a grant on one resource reaches that
//! resource only and stops at its expiry, and an explanation answers for the
//! instant asked about. The end-to-end suite checks the same through HTTP on both
//! databases; these show the rules where they live.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::DatabaseTransaction;
use tessera_kernel::{
    Clock, Db, DomainError, ManualClock, Permission, ProviderId, RequestContext, Resource, TenantId, TenantScope,
    UserId,
};
use tessera_ledger::{Reached, UsageHooks, UsageTerms};
use tessera_tenant::{NewTenant, TenantRef, TenantService};
use tessera_testkit::{add_user, clock_at, memory_db, signed_in};

use crate::{
    AccessScope, BuiltinRole, GrantStatus, NewAssignment, RbacLifecycle, RbacService, RoleInput, RolePatch, Subject,
};

/// Counts seats and tells nobody of reached thresholds (the gateway's hooks
/// send messages, which these tests do not look at).
#[derive(Debug)]
struct Quiet;

#[async_trait::async_trait]
impl UsageHooks for Quiet {
    async fn terms(&self, txn: &DatabaseTransaction, tenant_id: TenantId) -> tessera_kernel::Result<UsageTerms> {
        let tenant = tessera_tenant::load_tenant_in_scope(txn, tenant_id).await?;
        Ok(UsageTerms { tenant_id, tier: tenant.tier, timezone: chrono_tz::UTC })
    }

    async fn reached(
        &self,
        _: &DatabaseTransaction,
        _: TenantId,
        _: &[Reached],
        _: DateTime<Utc>,
    ) -> tessera_kernel::Result<()> {
        Ok(())
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// A business with its owner, over a fresh database.
struct Salon {
    db: Db,
    clock: Arc<ManualClock>,
    rbac: RbacService,
    tenant_id: TenantId,
    owner: UserId,
}

impl Salon {
    async fn open() -> Self {
        let db = memory_db().await;
        let clock = clock_at(start());
        let owner = add_user(&db, "owner@salon.test", start()).await;
        let tenants = TenantService::new(db.clone(), Arc::new(RbacLifecycle::new(Arc::new(Quiet))));
        let new =
            NewTenant { name: "Salon".into(), slug: "salon".into(), timezone: "Europe/Madrid".into(), locale: None };
        let tenant = tenants.create_tenant(&signed_in(&clock, owner), new).await.unwrap();
        let rbac = RbacService::new(db.clone(), Arc::new(Quiet));
        Self { db, clock, rbac, tenant_id: tenant.id, owner }
    }

    /// What `user` may do in the salon now, as a request resolves it.
    async fn scope_of(&self, user: UserId) -> TenantScope {
        let (_, scope) = self.rbac.resolve_scope(user, &TenantRef::Id(self.tenant_id), self.clock.now()).await.unwrap();
        scope
    }

    /// A request by `user` in the salon.
    async fn as_user(&self, user: UserId) -> RequestContext {
        signed_in(&self.clock, user).with_tenant(self.scope_of(user).await)
    }

    /// A new member holding a new role with `permissions`.
    async fn member_with(&self, email: &str, permissions: Vec<Permission>) -> UserId {
        let owner = self.as_user(self.owner).await;
        let user = add_user(&self.db, email, self.clock.now()).await;
        let role = RoleInput { name: format!("Role of {email}"), permissions, ..RoleInput::default() };
        let role = self.rbac.create_role(&owner, role).await.unwrap();
        self.rbac.add_member(&owner, user, &[role.id]).await.unwrap();
        user
    }
}

#[tokio::test]
async fn nobody_grants_or_takes_away_through_a_role_what_they_do_not_hold() {
    let salon = Salon::open().await;
    let keeper = salon.member_with("keeper@salon.test", vec![Permission::RoleRead, Permission::RoleManage]).await;
    let owner = salon.as_user(salon.owner).await;
    let auditors =
        RoleInput { name: "Auditors".into(), permissions: vec![Permission::AuditRead], ..RoleInput::default() };
    let auditors = salon.rbac.create_role(&owner, auditors).await.unwrap();
    let keeper = salon.as_user(keeper).await;

    let desk = RoleInput { name: "Desk".into(), permissions: vec![Permission::RoleRead], ..RoleInput::default() };
    let desk = salon.rbac.create_role(&keeper, desk).await.expect("a role within the keeper's own rights");
    let widen =
        RolePatch { permissions: Some(vec![Permission::RoleRead, Permission::AuditRead]), ..RolePatch::default() };
    let refused = salon.rbac.update_role(&keeper, desk.id, widen).await.unwrap_err();
    assert!(matches!(&refused, DomainError::Forbidden(why) if why.contains("audit:read")), "{refused:?}");

    let narrow = RolePatch { permissions: Some(Vec::new()), ..RolePatch::default() };
    let refused = salon.rbac.update_role(&keeper, auditors.id, narrow.clone()).await.unwrap_err();
    assert!(matches!(refused, DomainError::Forbidden(_)), "taking away audit:read needs it: {refused:?}");
    salon.rbac.update_role(&owner, auditors.id, narrow).await.expect("the owner holds audit:read");
}

#[tokio::test]
async fn a_tenant_keeps_an_owner_and_one_of_two_may_go() {
    let salon = Salon::open().await;
    let owner = salon.as_user(salon.owner).await;
    let own_grant = |grants: Vec<(crate::Assignment, crate::Role)>| {
        grants.into_iter().find(|(_, role)| role.builtin == Some(BuiltinRole::Owner)).unwrap().0
    };
    let first = own_grant(salon.rbac.my_assignments(&owner).await.unwrap());
    let refused = salon.rbac.revoke_assignment(&owner, first.id).await.unwrap_err();
    assert!(matches!(&refused, DomainError::Conflict(why) if why.contains("keep an owner")), "{refused:?}");

    let partner = add_user(&salon.db, "partner@salon.test", salon.clock.now()).await;
    let owner_role = salon.rbac.builtin_role(&owner, BuiltinRole::Owner).await.unwrap();
    salon.rbac.add_member(&owner, partner, &[owner_role.id]).await.unwrap();
    salon.rbac.revoke_assignment(&owner, first.id).await.expect("a second owner stays");
    assert!(!salon.scope_of(partner).await.permissions.is_empty());
    let gone = salon.rbac.resolve_scope(salon.owner, &TenantRef::Id(salon.tenant_id), salon.clock.now()).await;
    assert!(gone.is_err() || gone.unwrap().1.permissions.is_empty(), "the first owner holds nothing now");
}

#[tokio::test]
async fn a_grant_on_one_provider_reaches_it_alone_and_ends_at_its_expiry() {
    let salon = Salon::open().await;
    let owner = salon.as_user(salon.owner).await;
    let sofia = salon.member_with("sofia@salon.test", vec![Permission::TenantRead]).await;
    let cover = RoleInput { name: "Cover".into(), permissions: vec![Permission::BookingRead], ..RoleInput::default() };
    let cover = salon.rbac.create_role(&owner, cover).await.unwrap();
    let (marco, bella) = (ProviderId::generate(start()), ProviderId::generate(start()));
    let grant = NewAssignment {
        role_id: cover.id,
        subject: Subject::User(sofia),
        scope: AccessScope::Resource(Resource::Provider(marco)),
        expires_at: Some(start() + Duration::hours(8)),
    };
    salon.rbac.assign_role(&owner, grant).await.unwrap();

    let scope = salon.scope_of(sofia).await;
    assert!(scope.allows_on(Permission::BookingRead, Resource::Provider(marco)));
    assert!(!scope.allows_on(Permission::BookingRead, Resource::Provider(bella)), "another provider");
    assert!(!scope.permissions.contains(Permission::BookingRead), "not tenant-wide");

    salon.clock.advance(Duration::hours(8));
    let scope = salon.scope_of(sofia).await;
    assert!(!scope.allows_on(Permission::BookingRead, Resource::Provider(marco)), "expired: no job needed");
    assert!(scope.permissions.contains(Permission::TenantRead), "the rest stays");
}

#[tokio::test]
async fn an_explanation_answers_for_the_instant_asked_about() {
    let salon = Salon::open().await;
    let owner = salon.as_user(salon.owner).await;
    let rita = salon.member_with("rita@salon.test", vec![Permission::TenantRead]).await;
    let desk = RoleInput { name: "Desk".into(), permissions: vec![Permission::BookingManage], ..RoleInput::default() };
    let desk = salon.rbac.create_role(&owner, desk).await.unwrap();
    let before = salon.clock.now();
    salon.clock.advance(Duration::hours(1));
    let grant = salon.rbac.assign_role(&owner, NewAssignment::tenant_wide(desk.id, Subject::User(rita))).await.unwrap();
    salon.clock.advance(Duration::hours(1));
    let during = salon.clock.now();
    salon.clock.advance(Duration::hours(1));
    salon.rbac.revoke_assignment(&salon.as_user(salon.owner).await, grant.id).await.unwrap();
    salon.clock.advance(Duration::hours(1));
    let after = salon.clock.now();

    let owner = salon.as_user(salon.owner).await;
    let ask = |at| salon.rbac.explain(&owner, rita, Permission::BookingManage, None, at);
    let status = |explanation: &crate::Explanation| {
        explanation.paths.iter().find(|p| p.assignment.id == grant.id).map(|p| p.status)
    };
    let then = ask(before).await.unwrap();
    assert!(!then.allowed);
    assert_eq!(status(&then), Some(GrantStatus::NotYetGranted));
    let then = ask(during).await.unwrap();
    assert!(then.allowed);
    assert_eq!(status(&then), Some(GrantStatus::Grants));
    let then = ask(after).await.unwrap();
    assert!(!then.allowed);
    assert_eq!(status(&then), Some(GrantStatus::Revoked));
}
