//! Replica heartbeats: each replica records that it is alive; every replica counts the
//! replicas seen recently and takes that share of the cluster's limits (`service::membership`).

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::entities::cluster_replica;
use super::{Store, StoreError, db_time, exec, is_unique_violation};

impl Store {
    /// Records that this replica ([`Store::origin`]) is alive at `now`.
    pub async fn heartbeat(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let now = db_time(now);
        let update = cluster_replica::Entity::update_many()
            .col_expr(cluster_replica::Column::LastSeen, Expr::value(now))
            .filter(cluster_replica::Column::Id.eq(self.origin()));
        if exec(&self.db, &update).await?.rows_affected() > 0 {
            return Ok(());
        }
        let row = cluster_replica::ActiveModel {
            id: Set(self.origin().to_owned()),
            started_at: Set(now),
            last_seen: Set(now),
        };
        match exec(&self.db, &cluster_replica::Entity::insert(row)).await {
            // A concurrent heartbeat of this replica inserted it first: alive either way.
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// How many replicas (this one included) sent a heartbeat at or after `since`.
    pub async fn live_replicas(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(cluster_replica::Entity::find()
            .filter(cluster_replica::Column::LastSeen.gte(db_time(since)))
            .count(&self.db)
            .await?)
    }

    /// Removes this replica's heartbeat (a clean shutdown), and every heartbeat older than
    /// `stale_before` (replicas that died).
    pub async fn leave_cluster(&self, stale_before: DateTime<Utc>) -> Result<(), StoreError> {
        self.forget_replicas(stale_before).await?;
        cluster_replica::Entity::delete_by_id(self.origin().to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Removes heartbeats older than `stale_before`.
    pub async fn forget_replicas(&self, stale_before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = cluster_replica::Entity::delete_many()
            .filter(cluster_replica::Column::LastSeen.lt(db_time(stale_before)))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected)
    }
}
