//! Links between accounts and the records they stand for: a customer record may
//! belong to a user (who then sees their own bookings and books for themselves),
//! and a user stands for at most one provider and one customer per tenant (a
//! provider's `user_id` existed already; it becomes unique).
//!
//! SQLite cannot add a foreign key to an existing table without rebuilding it, so
//! there the link is checked by the service (the user must belong to the tenant);
//! PostgreSQL gets the foreign key too.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    UserId,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Customers::Table).add_column(uuid_null(Customers::UserId)).to_owned())
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .alter_table(
                    Table::alter()
                        .table(Customers::Table)
                        .add_foreign_key(
                            TableForeignKey::new()
                                .name("customers_user_id_fkey")
                                .from_tbl(Customers::Table)
                                .from_col(Customers::UserId)
                                .to_tbl(Users::Table)
                                .to_col(Users::Id)
                                .on_delete(ForeignKeyAction::SetNull),
                        )
                        .to_owned(),
                )
                .await?;
        }
        // Partial unique indexes (same syntax on both engines).
        let conn = manager.get_connection();
        for sql in [
            "CREATE UNIQUE INDEX customers_user_idx ON customers (tenant_id, user_id) WHERE user_id IS NOT NULL",
            "CREATE UNIQUE INDEX providers_user_idx ON providers (tenant_id, user_id) WHERE user_id IS NOT NULL",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX providers_user_idx").await?;
        conn.execute_unprepared("DROP INDEX customers_user_idx").await?;
        manager.alter_table(Table::alter().table(Customers::Table).drop_column(Customers::UserId).to_owned()).await
    }
}
