//! Whose rows a query may see: one user's, or everyone's (admins, workers, maintenance).
//! A row outside the scope is simply not found, so the API answers 404 and never says
//! that someone else's image, job, pipeline or upload exists.

/// The owner filter every read and write of owned rows takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Only rows owned by this user id.
    User(&'a str),
    /// Every row, owned or not: admins, the worker, maintenance.
    All,
}

impl<'a> Scope<'a> {
    /// The user the scope is limited to, or `None` for [`Scope::All`]. Bind this as the
    /// parameter [`Scope::condition`] names, whatever the scope.
    pub(crate) fn owner(self) -> Option<&'a str> {
        match self {
            Scope::User(id) => Some(id),
            Scope::All => None,
        }
    }

    /// The SQL condition that keeps the rows in scope, comparing `column` with parameter
    /// `$n`. [`Scope::All`] still names `$n` (bound as NULL) so that parameter numbers do
    /// not depend on the scope, and its statement stays distinct from the user's, so each
    /// gets its own plan.
    pub(crate) fn condition(self, column: &str, n: usize) -> String {
        match self {
            Scope::User(_) => format!("{column} = ${n}"),
            Scope::All => format!("CAST(${n} AS TEXT) IS NULL"),
        }
    }
}
