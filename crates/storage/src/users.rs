//! User accounts: an email (stored lower-cased, so uniqueness ignores case), a password
//! hash the caller computed, a role, quotas, and whether the account is disabled. The
//! balance lives here too but changes only through [`crate::Credits`] and the queue.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{row_int, Db};
use crate::error::{Error, Result};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn from_name(text: &str) -> Option<Role> {
        match text {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    /// Lower-cased.
    pub email: String,
    /// A PHC string, as the caller's hasher wrote it.
    pub password_hash: String,
    pub role: Role,
    pub balance: i64,
    pub quotas: Quotas,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    /// Tokens issued before this are stale.
    pub password_changed_at: i64,
}

/// A user's limits; `None` means the server's default applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quotas {
    /// Bytes of live images.
    pub bytes: Option<i64>,
    /// Jobs queued or running at once.
    pub jobs: Option<i64>,
}

/// One page of users, by email.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub users: Vec<User>,
    /// The last email on this page, to pass back as `after`; `None` on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Users {
    db: Db,
}

pub(crate) const COLUMNS: &str =
    "id, email, password_hash, role, balance, quota_bytes, quota_jobs, disabled_at, created_at, password_changed_at";

impl Users {
    pub fn new(db: Db) -> Users {
        Users { db }
    }

    /// Creates a user with a zero balance; `None` when the email (in any case) is taken.
    pub async fn create(&self, email: &str, password_hash: &str, role: Role, now: i64) -> Result<Option<User>> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("create user"))?;
        let user = insert(&mut tx, email, password_hash, role, now).await?;
        tx.commit().await.map_err(Error::db("create user"))?;
        Ok(user)
    }

    pub async fn get(&self, id: &str) -> Result<Option<User>> {
        self.one("id", id).await
    }

    /// The user with this email, compared without regard to case.
    pub async fn find_by_email(&self, email: &str) -> Result<Option<User>> {
        self.one("email", &normalize(email)).await
    }

    /// Users by email, after the email `after`.
    pub async fn list(&self, after: Option<&str>, limit: u32) -> Result<UserPage> {
        let limit = i64::from(limit.clamp(1, 1000));
        // Every string sorts after '', so no cursor is the empty one.
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE email > $1 ORDER BY email LIMIT $2"))
            .bind(after.unwrap_or(""))
            .bind(limit + 1)
            .fetch_all(&self.db.pool)
            .await
            .map_err(Error::db("list users"))?;
        let mut users = rows.iter().map(user_from_row).collect::<Result<Vec<_>>>()?;
        let more = users.len() as i64 > limit;
        users.truncate(limit as usize);
        let next = if more { users.last().map(|user| user.email.clone()) } else { None };
        Ok(UserPage { users, next })
    }

    pub async fn count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.db.pool)
            .await
            .map_err(Error::db("count users"))?;
        row_int(&row, "n")
    }

    /// Disables (from `now`) or re-enables a user. Disabling also revokes their refresh
    /// tokens, so no session outlives it. `false` for no such user.
    pub async fn set_disabled(&self, id: &str, disabled: bool, now: i64) -> Result<bool> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("disable user"))?;
        let done = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then_some(now))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(Error::db("disable user"))?;
        if disabled {
            crate::sessions::revoke_user(&mut tx, id, now).await?;
        }
        tx.commit().await.map_err(Error::db("disable user"))?;
        Ok(done.rows_affected() == 1)
    }

    /// `false` for no such user.
    pub async fn set_role(&self, id: &str, role: Role) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("set role"))?;
        Ok(done.rows_affected() == 1)
    }

    /// `false` for no such user.
    pub async fn set_quotas(&self, id: &str, quotas: Quotas) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET quota_bytes = $1, quota_jobs = $2 WHERE id = $3")
            .bind(quotas.bytes)
            .bind(quotas.jobs)
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("set quotas"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the password hash and revokes every refresh token of the user (sessions
    /// end; API keys stay, they are revoked one by one). `false` for no such user.
    pub async fn set_password(&self, id: &str, password_hash: &str, now: i64) -> Result<bool> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("set password"))?;
        let done = sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(Error::db("set password"))?;
        crate::sessions::revoke_user(&mut tx, id, now).await?;
        tx.commit().await.map_err(Error::db("set password"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn one(&self, column: &str, value: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE {column} = $1"))
            .bind(value)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(Error::db("get user"))?;
        row.map(|row| user_from_row(&row)).transpose()
    }
}

/// Emails compare without regard to case; they are stored the way lookups ask for them.
fn normalize(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Inserts a user inside `tx`; `None` when the email is taken.
pub(crate) async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    email: &str,
    password_hash: &str,
    role: Role,
    now: i64,
) -> Result<Option<User>> {
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        email: normalize(email),
        password_hash: password_hash.to_string(),
        role,
        balance: 0,
        quotas: Quotas::default(),
        disabled_at: None,
        created_at: now,
        password_changed_at: now,
    };
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, balance, created_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $5) ON CONFLICT (email) DO NOTHING",
    )
    .bind(&user.id)
    .bind(&user.email)
    .bind(&user.password_hash)
    .bind(role.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(Error::db("create user"))?;
    Ok((inserted.rows_affected() == 1).then_some(user))
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User> {
    let read = || Error::db("read user");
    let role: String = row.try_get("role").map_err(read())?;
    Ok(User {
        id: row.try_get("id").map_err(read())?,
        email: row.try_get("email").map_err(read())?,
        password_hash: row.try_get("password_hash").map_err(read())?,
        role: Role::from_name(&role).ok_or_else(|| Error::Corrupt(format!("unknown role `{role}`")))?,
        balance: row_int(row, "balance")?,
        quotas: Quotas {
            bytes: row.try_get("quota_bytes").map_err(read())?,
            jobs: row.try_get("quota_jobs").map_err(read())?,
        },
        disabled_at: row.try_get("disabled_at").map_err(read())?,
        created_at: row_int(row, "created_at")?,
        password_changed_at: row_int(row, "password_changed_at")?,
    })
}
