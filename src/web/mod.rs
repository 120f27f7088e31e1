//! Hosting on the web: what an IIS/ASP.NET SessionStateModule does for a
//! server, with a modern session manager's security.
//!
//! A [`Site`] maps virtual paths to applications ([`paths`]); a request
//! [begins](Site::begin) there, finds its session from the cookie
//! ([`cookie`]) or the URL ([`cookieless`]), and [ends](Request::end) with
//! the `Set-Cookie` to send ([`request`]).

pub mod cookie;
pub mod cookieless;
pub mod paths;
pub mod request;
pub mod site;

pub use cookie::{CookieOptions, SameSite, Secure};
pub use paths::AppPaths;
pub use request::{EndError, Outcome, Request, RequestInfo, SessionUse};
pub use site::{Site, WebOptions};
