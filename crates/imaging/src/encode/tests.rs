//! Unit tests; see the parent module.
