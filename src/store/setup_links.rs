//! Setup links: one-time links with which a customer connects their identity provider to one
//! tenant (`service::setup_links`). Every state change is one conditional update, so two
//! replicas (or two browser tabs) cannot both revoke, submit after activation, or activate twice.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::setup_link;
use super::{NAME_LEN, Store, StoreError, TENANT_ID_LEN, check_len, db_time, exec};

pub use setup_link::Model as SetupLinkRow;

/// A setup link about to be written.
#[derive(Debug, Clone)]
pub struct NewSetupLink {
    pub id: String,
    pub tenant_id: String,
    pub token_hash: String,
    pub display_name: Option<String>,
    pub auto_activate: bool,
    pub created_by: String,
    pub expires_at: DateTime<Utc>,
}

type Column = setup_link::Column;

impl Store {
    pub async fn insert_setup_link(
        &self,
        link: NewSetupLink,
        now: DateTime<Utc>,
    ) -> Result<SetupLinkRow, StoreError> {
        check_len("tenant id", &link.tenant_id, TENANT_ID_LEN)?;
        check_len("created by", &link.created_by, NAME_LEN)?;
        if let Some(name) = &link.display_name {
            check_len("display name", name, NAME_LEN)?;
        }
        let id = link.id.clone();
        let row = setup_link::ActiveModel {
            id: Set(link.id),
            tenant_id: Set(link.tenant_id),
            token_hash: Set(link.token_hash),
            display_name: Set(link.display_name),
            auto_activate: Set(link.auto_activate),
            created_by: Set(link.created_by),
            created_at: Set(db_time(now)),
            expires_at: Set(db_time(link.expires_at)),
            opened_at: Set(None),
            submitted_at: Set(None),
            activated_at: Set(None),
            revoked_at: Set(None),
            pending_provider: Set(None),
        };
        exec(&self.db, &setup_link::Entity::insert(row)).await?;
        self.setup_link(&id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn setup_link(&self, id: &str) -> Result<Option<SetupLinkRow>, StoreError> {
        Ok(setup_link::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?)
    }

    /// The link whose secret hashes to `token_hash`.
    pub async fn setup_link_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<SetupLinkRow>, StoreError> {
        Ok(setup_link::Entity::find()
            .filter(Column::TokenHash.eq(token_hash))
            .one(&self.db)
            .await?)
    }

    /// The tenant's links, newest first.
    pub async fn setup_links_of_tenant(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<SetupLinkRow>, StoreError> {
        Ok(setup_link::Entity::find()
            .filter(Column::TenantId.eq(tenant_id))
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Records the first time the link was opened (later openings leave it).
    pub async fn mark_setup_link_opened(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = setup_link::Entity::update_many()
            .col_expr(Column::OpenedAt, Expr::value(Some(db_time(now))))
            .filter(Column::Id.eq(id))
            .filter(Column::OpenedAt.is_null());
        Ok(exec(&self.db, &update).await?.rows_affected() > 0)
    }

    /// Stores `provider` as the link's pending configuration (replacing an earlier one), unless
    /// the link was revoked, activated or has expired meanwhile.
    pub async fn submit_setup_link(
        &self,
        id: &str,
        provider: String,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = db_time(now);
        let update = setup_link::Entity::update_many()
            .col_expr(Column::PendingProvider, Expr::value(Some(provider)))
            .col_expr(Column::SubmittedAt, Expr::value(Some(now)))
            .filter(Column::Id.eq(id))
            .filter(Column::RevokedAt.is_null())
            .filter(Column::ActivatedAt.is_null())
            .filter(Column::ExpiresAt.gt(now));
        Ok(exec(&self.db, &update).await?.rows_affected() > 0)
    }

    /// Revokes the link unless it was revoked or activated already.
    pub async fn revoke_setup_link(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = setup_link::Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(Some(db_time(now))))
            .filter(Column::Id.eq(id))
            .filter(Column::RevokedAt.is_null())
            .filter(Column::ActivatedAt.is_null());
        Ok(exec(&self.db, &update).await?.rows_affected() > 0)
    }

    /// Revokes every link of the tenant still open (the tenant was deleted); how many.
    pub async fn revoke_setup_links_of_tenant(
        &self,
        tenant_id: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let update = setup_link::Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(Some(db_time(now))))
            .filter(Column::TenantId.eq(tenant_id))
            .filter(Column::RevokedAt.is_null())
            .filter(Column::ActivatedAt.is_null());
        Ok(exec(&self.db, &update).await?.rows_affected())
    }

    /// Claims the activation of the configuration submitted at `submitted_at`: true for exactly
    /// one caller, and only while the link is neither revoked nor activated and nothing newer was
    /// submitted.
    pub async fn claim_setup_link_activation(
        &self,
        id: &str,
        submitted_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = setup_link::Entity::update_many()
            .col_expr(Column::ActivatedAt, Expr::value(Some(db_time(now))))
            .filter(Column::Id.eq(id))
            .filter(Column::SubmittedAt.eq(db_time(submitted_at)))
            .filter(Column::RevokedAt.is_null())
            .filter(Column::ActivatedAt.is_null());
        Ok(exec(&self.db, &update).await?.rows_affected() > 0)
    }

    /// Gives a claimed activation back (the tenant could not be written).
    pub async fn release_setup_link_activation(&self, id: &str) -> Result<(), StoreError> {
        let update = setup_link::Entity::update_many()
            .col_expr(
                Column::ActivatedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(Column::Id.eq(id));
        exec(&self.db, &update).await?;
        Ok(())
    }
}
