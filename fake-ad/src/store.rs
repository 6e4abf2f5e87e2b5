//! fake-ad keeps its state through the lab's [`runtime::store`] (the in-memory and SQLite stores
//! live in `runtime` so fake-cloud shares them).

pub use runtime::store::*;
