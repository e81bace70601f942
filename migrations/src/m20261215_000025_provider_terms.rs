//! A provider's own terms for a service (a senior stylist charges more and takes
//! longer): nullable price and length on `provider_services`, `NULL` meaning the
//! service's own. And whether special opening hours replace a day's weekly hours
//! or add to them, stated on each opening instead of implied.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum ProviderServices {
    Table,
    PriceMinor,
    DurationMinutes,
}

#[derive(DeriveIden)]
enum ScheduleExceptions {
    Table,
    AddsToWeeklyHours,
}

// The trait elides SchemaManager's lifetime; the impl must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        let price = big_integer_null(ProviderServices::PriceMinor)
            .check(Expr::col(ProviderServices::PriceMinor).gte(0))
            .to_owned();
        let duration = integer_null(ProviderServices::DurationMinutes)
            .check(Expr::col(ProviderServices::DurationMinutes).gt(0))
            .to_owned();
        for mut column in [price, duration] {
            manager
                .alter_table(Table::alter().table(ProviderServices::Table).add_column(&mut column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ScheduleExceptions::Table)
                    .add_column(boolean(ScheduleExceptions::AddsToWeeklyHours).default(false))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ScheduleExceptions::Table)
                    .drop_column(ScheduleExceptions::AddsToWeeklyHours)
                    .to_owned(),
            )
            .await?;
        for column in [ProviderServices::DurationMinutes, ProviderServices::PriceMinor] {
            manager.alter_table(Table::alter().table(ProviderServices::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
