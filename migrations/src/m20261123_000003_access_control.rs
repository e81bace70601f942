//! Access control: roles per tenant (with a parent role and built-in keys), the
//! permissions each role adds, groups of users and their membership history, and
//! role assignments to users or groups with a scope, an expiry and who granted and
//! revoked them. Assignments are never deleted: revoking one stamps it, so access can
//! be explained as of any past instant.
//!
//! Memberships stop carrying a role: each existing membership becomes an assignment
//! of the matching built-in role (owner → owner, admin → admin, member → staff),
//! reusing the membership's id and creation time.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::prelude::DateTimeUtc;
use sea_orm_migration::sea_orm::{DbBackend, Statement};
use uuid::Uuid;

use crate::postgres::{self, TENANT_FN};
use crate::{create_index, one_of};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Role,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
    TenantId,
    BuiltinKey,
    Name,
    Description,
    ParentRoleId,
    IsDefault,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum RolePermissions {
    Table,
    RoleId,
    TenantId,
    Permission,
}

#[derive(DeriveIden)]
enum UserGroups {
    Table,
    Id,
    TenantId,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum UserGroupMembers {
    Table,
    Id,
    TenantId,
    GroupId,
    UserId,
    AddedAt,
    AddedBy,
    RemovedAt,
    RemovedBy,
}

#[derive(DeriveIden)]
enum RoleAssignments {
    Table,
    Id,
    TenantId,
    RoleId,
    UserId,
    GroupId,
    ScopeType,
    ScopeId,
    GrantedBy,
    GrantedAt,
    ExpiresAt,
    RevokedAt,
    RevokedBy,
}

/// The tables of this migration under row-level security.
pub(crate) const TABLES: &[&str] =
    &["roles", "role_permissions", "user_groups", "user_group_members", "role_assignments"];

/// Built-in role keys with the name and description each tenant starts with. Frozen
/// here: later changes to built-in roles are new migrations.
const BUILTIN_ROLES: [(&str, &str, &str); 4] = [
    ("owner", "Owner", "Runs the business: every permission, including deleting the tenant"),
    ("admin", "Admin", "Manages the business day to day: everything but deleting the tenant"),
    ("staff", "Staff", "Works in the business: sees the catalogue and customers, books appointments"),
    ("customer", "Customer", "Books and manages their own appointments"),
];

fn tenant_fk(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn user_fk(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(Users::Table, Users::Id).on_delete(ForeignKeyAction::Cascade).to_owned()
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .col(uuid(Roles::Id).primary_key())
                    .col(uuid(Roles::TenantId))
                    .col(
                        string_len_null(Roles::BuiltinKey, 20)
                            .check(one_of(Roles::BuiltinKey, &["owner", "admin", "staff", "customer"])),
                    )
                    .col(string_len(Roles::Name, 100))
                    .col(text_null(Roles::Description))
                    .col(uuid_null(Roles::ParentRoleId))
                    .col(boolean(Roles::IsDefault))
                    .col(timestamp_with_time_zone(Roles::CreatedAt))
                    .col(timestamp_with_time_zone(Roles::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Roles::DeletedAt))
                    .foreign_key(&mut tenant_fk(Roles::Table, Roles::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Roles::Table, Roles::ParentRoleId)
                            .to(Roles::Table, Roles::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(manager, "roles_tenant_builtin_idx", Roles::Table, [Roles::TenantId, Roles::BuiltinKey], true)
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RolePermissions::Table)
                    .col(uuid(RolePermissions::RoleId))
                    .col(uuid(RolePermissions::TenantId))
                    .col(string_len(RolePermissions::Permission, 64))
                    .primary_key(Index::create().col(RolePermissions::RoleId).col(RolePermissions::Permission))
                    .foreign_key(&mut tenant_fk(RolePermissions::Table, RolePermissions::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RolePermissions::Table, RolePermissions::RoleId)
                            .to(Roles::Table, Roles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "role_permissions_tenant_idx",
            RolePermissions::Table,
            [RolePermissions::TenantId],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserGroups::Table)
                    .col(uuid(UserGroups::Id).primary_key())
                    .col(uuid(UserGroups::TenantId))
                    .col(string_len(UserGroups::Name, 100))
                    .col(text_null(UserGroups::Description))
                    .col(timestamp_with_time_zone(UserGroups::CreatedAt))
                    .col(timestamp_with_time_zone(UserGroups::UpdatedAt))
                    .col(timestamp_with_time_zone_null(UserGroups::DeletedAt))
                    .foreign_key(&mut tenant_fk(UserGroups::Table, UserGroups::TenantId))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserGroupMembers::Table)
                    .col(uuid(UserGroupMembers::Id).primary_key())
                    .col(uuid(UserGroupMembers::TenantId))
                    .col(uuid(UserGroupMembers::GroupId))
                    .col(uuid(UserGroupMembers::UserId))
                    .col(timestamp_with_time_zone(UserGroupMembers::AddedAt))
                    .col(uuid_null(UserGroupMembers::AddedBy))
                    .col(timestamp_with_time_zone_null(UserGroupMembers::RemovedAt))
                    .col(uuid_null(UserGroupMembers::RemovedBy))
                    .foreign_key(&mut tenant_fk(UserGroupMembers::Table, UserGroupMembers::TenantId))
                    .foreign_key(&mut user_fk(UserGroupMembers::Table, UserGroupMembers::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserGroupMembers::Table, UserGroupMembers::GroupId)
                            .to(UserGroups::Table, UserGroups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "user_group_members_user_idx",
            UserGroupMembers::Table,
            [UserGroupMembers::TenantId, UserGroupMembers::UserId],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(RoleAssignments::Table)
                    .col(uuid(RoleAssignments::Id).primary_key())
                    .col(uuid(RoleAssignments::TenantId))
                    .col(uuid(RoleAssignments::RoleId))
                    .col(uuid_null(RoleAssignments::UserId))
                    .col(uuid_null(RoleAssignments::GroupId))
                    .col(
                        string_len(RoleAssignments::ScopeType, 20)
                            .check(one_of(RoleAssignments::ScopeType, &["tenant", "provider"])),
                    )
                    .col(uuid_null(RoleAssignments::ScopeId))
                    .col(uuid_null(RoleAssignments::GrantedBy))
                    .col(timestamp_with_time_zone(RoleAssignments::GrantedAt))
                    .col(timestamp_with_time_zone_null(RoleAssignments::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RoleAssignments::RevokedAt))
                    .col(uuid_null(RoleAssignments::RevokedBy))
                    // Exactly one subject; a scope id exactly when the scope is a resource.
                    .check(
                        Expr::col(RoleAssignments::UserId).is_null().ne(Expr::col(RoleAssignments::GroupId).is_null()),
                    )
                    .check(
                        Expr::col(RoleAssignments::ScopeType)
                            .eq("tenant")
                            .eq(Expr::col(RoleAssignments::ScopeId).is_null()),
                    )
                    .foreign_key(&mut tenant_fk(RoleAssignments::Table, RoleAssignments::TenantId))
                    .foreign_key(&mut user_fk(RoleAssignments::Table, RoleAssignments::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RoleAssignments::Table, RoleAssignments::RoleId)
                            .to(Roles::Table, Roles::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RoleAssignments::Table, RoleAssignments::GroupId)
                            .to(UserGroups::Table, UserGroups::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "role_assignments_user_idx",
            RoleAssignments::Table,
            [RoleAssignments::TenantId, RoleAssignments::UserId],
            false,
        )
        .await?;
        create_index(
            manager,
            "role_assignments_group_idx",
            RoleAssignments::Table,
            [RoleAssignments::TenantId, RoleAssignments::GroupId],
            false,
        )
        .await?;

        let conn = manager.get_connection();
        // Partial unique indexes (same syntax on both engines): names are unique among
        // live roles and groups, and a user is in a group at most once at a time.
        for sql in [
            "CREATE UNIQUE INDEX roles_live_name_idx ON roles (tenant_id, lower(name)) WHERE deleted_at IS NULL",
            "CREATE UNIQUE INDEX user_groups_live_name_idx ON user_groups (tenant_id, lower(name)) \
             WHERE deleted_at IS NULL",
            "CREATE UNIQUE INDEX user_group_members_current_idx ON user_group_members (group_id, user_id) \
             WHERE removed_at IS NULL",
        ] {
            conn.execute_unprepared(sql).await?;
        }

        install_builtin_roles_for_existing_tenants(manager).await?;
        // Memberships now only say who belongs; what they may do is in assignments.
        conn.execute_unprepared(
            "INSERT INTO role_assignments (id, tenant_id, role_id, user_id, scope_type, granted_at) \
             SELECT m.id, m.tenant_id, r.id, m.user_id, 'tenant', m.created_at \
             FROM memberships m JOIN roles r ON r.tenant_id = m.tenant_id \
               AND r.builtin_key = CASE m.role WHEN 'member' THEN 'staff' ELSE m.role END",
        )
        .await?;
        manager.alter_table(Table::alter().table(Memberships::Table).drop_column(Memberships::Role).to_owned()).await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            // Assignments and group memberships are history: requests insert and stamp
            // them, never delete them.
            for table in ["roles", "role_permissions", "user_groups"] {
                postgres::grant(manager, table, "SELECT, INSERT, UPDATE, DELETE").await?;
            }
            for table in ["user_group_members", "role_assignments"] {
                postgres::grant(manager, table, "SELECT, INSERT, UPDATE").await?;
            }
            let own = format!("tenant_id = {TENANT_FN}");
            for table in TABLES {
                postgres::isolate(manager, table, &own, &own).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .add_column(
                        string_len(Memberships::Role, 20)
                            .default("member")
                            .check(one_of(Memberships::Role, &["owner", "admin", "member"])),
                    )
                    .to_owned(),
            )
            .await?;
        // A member keeps the strongest built-in role they hold directly.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE memberships SET role = CASE \
                   WHEN EXISTS (SELECT 1 FROM role_assignments a JOIN roles r ON r.id = a.role_id \
                     WHERE a.tenant_id = memberships.tenant_id AND a.user_id = memberships.user_id \
                       AND a.revoked_at IS NULL AND r.builtin_key = 'owner') THEN 'owner' \
                   WHEN EXISTS (SELECT 1 FROM role_assignments a JOIN roles r ON r.id = a.role_id \
                     WHERE a.tenant_id = memberships.tenant_id AND a.user_id = memberships.user_id \
                       AND a.revoked_at IS NULL AND r.builtin_key = 'admin') THEN 'admin' \
                   ELSE 'member' END",
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres::drop_policies(manager, TABLES).await?;
        }
        for table in [
            RoleAssignments::Table.into_iden(),
            UserGroupMembers::Table.into_iden(),
            UserGroups::Table.into_iden(),
            RolePermissions::Table.into_iden(),
            Roles::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

/// Every tenant gets the four built-in roles; new tenants get them from the `rbac`
/// crate when they are created.
async fn install_builtin_roles_for_existing_tenants(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    let backend = manager.get_database_backend();
    let tenants = conn.query_all_raw(Statement::from_string(backend, "SELECT id, created_at FROM tenants")).await?;
    for tenant in tenants {
        let tenant_id: Uuid = tenant.try_get("", "id")?;
        let created_at: Value = tenant.try_get::<DateTimeUtc>("", "created_at")?.into();
        for (key, name, description) in BUILTIN_ROLES {
            let insert = Query::insert()
                .into_table(Roles::Table)
                .columns([
                    Roles::Id,
                    Roles::TenantId,
                    Roles::BuiltinKey,
                    Roles::Name,
                    Roles::Description,
                    Roles::IsDefault,
                    Roles::CreatedAt,
                    Roles::UpdatedAt,
                ])
                .values_panic([
                    Uuid::now_v7().into(),
                    tenant_id.into(),
                    key.into(),
                    name.into(),
                    description.into(),
                    (key == "customer").into(),
                    created_at.clone().into(),
                    created_at.clone().into(),
                ])
                .to_owned();
            conn.execute(&insert).await?;
        }
    }
    Ok(())
}
