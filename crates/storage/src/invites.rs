//! Invitations: single-use codes, stored as hashes, that let someone register. Redeeming
//! one creates the user in the same transaction, so a code is spent exactly when an
//! account is made with it, and two people racing with one code get one account.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{row_int, Db};
use crate::error::{Error, Result};
use crate::users::{Role, User};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub code_hash: String,
    /// The admin who made it; `None` when made from the command line.
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub used_by: Option<String>,
}

/// What came of registering with an invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    Created(User),
    /// Nothing was written, and the invite is still unused.
    EmailTaken,
    /// No such code, or it was used or expired.
    InvalidInvite,
}

#[derive(Debug, Clone)]
pub struct Invites {
    db: Db,
}

const COLUMNS: &str = "code_hash, created_by, created_at, expires_at, used_at, used_by";

impl Invites {
    pub fn new(db: Db) -> Invites {
        Invites { db }
    }

    pub async fn create(&self, code_hash: &str, created_by: Option<&str>, now: i64, expires_at: i64) -> Result<Invite> {
        sqlx::query("INSERT INTO invites (code_hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(code_hash)
            .bind(created_by)
            .bind(now)
            .bind(expires_at)
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("create invite"))?;
        Ok(Invite {
            code_hash: code_hash.to_string(),
            created_by: created_by.map(str::to_string),
            created_at: now,
            expires_at,
            used_at: None,
            used_by: None,
        })
    }

    pub async fn get(&self, code_hash: &str) -> Result<Option<Invite>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM invites WHERE code_hash = $1"))
            .bind(code_hash)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(Error::db("get invite"))?;
        row.map(|row| invite_from_row(&row)).transpose()
    }

    /// Deletes an unused invite. `false` when there was none (or it was used).
    pub async fn revoke(&self, code_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM invites WHERE code_hash = $1 AND used_at IS NULL")
            .bind(code_hash)
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("revoke invite"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Spends the invite and creates a user (role `user`) in one transaction.
    pub async fn redeem(&self, code_hash: &str, email: &str, password_hash: &str, now: i64) -> Result<Redeemed> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("redeem invite"))?;
        // The claim first: a concurrent redeemer of the same code waits on this row and
        // then finds it used.
        let claimed =
            sqlx::query("UPDATE invites SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1")
                .bind(now)
                .bind(code_hash)
                .execute(&mut *tx)
                .await
                .map_err(Error::db("redeem invite"))?;
        if claimed.rows_affected() == 0 {
            return Ok(Redeemed::InvalidInvite);
        }
        let Some(user) = crate::users::insert(&mut tx, email, password_hash, Role::User, now).await? else {
            return Ok(Redeemed::EmailTaken); // rolled back: the invite stays unused
        };
        sqlx::query("UPDATE invites SET used_by = $1 WHERE code_hash = $2")
            .bind(&user.id)
            .bind(code_hash)
            .execute(&mut *tx)
            .await
            .map_err(Error::db("redeem invite"))?;
        tx.commit().await.map_err(Error::db("redeem invite"))?;
        Ok(Redeemed::Created(user))
    }
}

fn invite_from_row(row: &AnyRow) -> Result<Invite> {
    let read = || Error::db("read invite");
    Ok(Invite {
        code_hash: row.try_get("code_hash").map_err(read())?,
        created_by: row.try_get("created_by").map_err(read())?,
        created_at: row_int(row, "created_at")?,
        expires_at: row_int(row, "expires_at")?,
        used_at: row.try_get("used_at").map_err(read())?,
        used_by: row.try_get("used_by").map_err(read())?,
    })
}
