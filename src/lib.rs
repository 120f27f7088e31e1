//! libsess: the IIS/ASP Session object as a library.
//!
//! An [`App`](app::App) holds sessions in a store; a [`Session`](app::Session)
//! is one unit of work (one request) on one session: its Contents and
//! StaticObjects, SessionID, Timeout, LCID, CodePage and Abandon, with
//! Session_OnStart / Session_OnEnd callbacks. Values are [`Variant`](variant::Variant)s,
//! held by value. The C surface (`include/sess.h`) lives in [`ffi`].
//!
//! Layers, each using only those below it:
//! `ffi → web → app → store → state → variant → locale` (`state`: a
//! session's data — Contents, IDs, the undo journal).

pub mod app;
mod ascii;
pub mod clock;
pub mod error;
pub mod ffi;
pub mod fork;
pub mod locale;
pub mod state;
pub mod store;
mod threads;
pub mod variant;
pub mod web;
