//! The Session object's data: Contents, static-object instances, Timeout,
//! LCID and CodePage, and the session ID type.

mod budget;
mod contents;
mod data;
mod id;
mod journal;

pub use budget::MemoryBudget;
pub(crate) use contents::same_key;
pub use contents::Contents;
pub use data::{bad_index, check_timeout, Limits, SessionData, MAX_TIMEOUT_MINUTES};
pub use id::{IdText, SessionId, ID_LEN};
pub use journal::Journal;
