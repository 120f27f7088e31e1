//! Hosting on the web: cookies, cookieless URLs and application paths.
//!
//! Pure building blocks for a host's request handling (what an IIS/ASP.NET
//! SessionStateModule does): [`paths`] finds the application a request
//! belongs to, [`cookie`] reads and writes the session cookie, and
//! [`cookieless`] carries the ID in the URL instead. No I/O.

pub mod cookie;
pub mod cookieless;
pub mod paths;

pub use cookie::{CookieOptions, SameSite, Secure};
pub use paths::AppPaths;
