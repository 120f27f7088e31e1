//! IHttpSessionState's CookieMode / IsCookieless and CopyTo through the C
//! exports, on sessions of web requests, as a C host calls them.

use std::ptr::{null, null_mut};

use sess::error;
use sess::ffi::app::{sess_app_create, sess_app_options, sess_app_options_init, sess_app_release};
use sess::ffi::array::{sess_array_create, sess_array_destroy, sess_array_get, sess_array_set};
use sess::ffi::handle::{sess_app, sess_array, sess_request, sess_session, sess_site};
use sess::ffi::hosting::sess_request_info_init;
use sess::ffi::session::{sess_lcid, sess_session_close, sess_session_create, sess_value_set};
use sess::ffi::session_state::{
    sess_contents_copy_to, sess_lcid_effective, sess_request_cookie_mode,
    sess_request_is_cookieless, COOKIE_MODE_USE_COOKIES, COOKIE_MODE_USE_URI,
};
use sess::ffi::variant::{
    sess_variant, sess_variant_change_type, sess_variant_clear, sess_variant_init,
    sess_variant_set_bstr,
};
use sess::ffi::variant_typed::{sess_variant_set_bool, sess_variant_set_i4};
use sess::ffi::web::{
    sess_request_begin, sess_request_end, sess_request_info, sess_request_session, sess_site_add,
    sess_site_create, sess_site_release, sess_web_options, sess_web_options_init, REQUEST_CREATE,
};
use sess::variant::vt;

/// A site with one application at "/", cookieless or not, and a request on it.
struct Page {
    app: *mut sess_app,
    site: *mut sess_site,
    req: *mut sess_request,
}

impl Page {
    fn new(cookieless: bool) -> Page {
        // SAFETY: every pointer is a local or a live handle made here.
        unsafe {
            let mut app = null_mut();
            assert_eq!(sess_app_create(null(), &mut app), error::S_OK);
            let mut site = null_mut();
            assert_eq!(sess_site_create(&mut site), error::S_OK);
            let mut web: sess_web_options = std::mem::zeroed();
            assert_eq!(sess_web_options_init(&mut web), error::S_OK);
            web.cookieless = cookieless.into();
            assert_eq!(sess_site_add(site, c"/".as_ptr(), app, &web), error::S_OK);
            let mut info: sess_request_info = std::mem::zeroed();
            assert_eq!(sess_request_info_init(&mut info), error::S_OK);
            info.path = c"/page".as_ptr();
            let mut req = null_mut();
            assert_eq!(sess_request_begin(site, &info, &mut req), error::S_OK);
            Page { app, site, req }
        }
    }

    fn session(&self) -> *mut sess_session {
        let mut s = null_mut();
        // SAFETY: a live request; s writable.
        assert_eq!(
            unsafe { sess_request_session(self.req, REQUEST_CREATE, &mut s) },
            error::S_OK
        );
        s
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: live handles, each ended once.
        unsafe {
            assert_eq!(sess_request_end(self.req, false, null_mut()), error::S_OK);
            sess_site_release(self.site);
            sess_app_release(self.app);
        }
    }
}

#[test]
fn cookie_mode_and_is_cookieless() {
    for (cookieless, mode) in [
        (true, COOKIE_MODE_USE_URI),
        (false, COOKIE_MODE_USE_COOKIES),
    ] {
        let page = Page::new(cookieless);
        let (mut got_mode, mut got_flag) = (99, !cookieless);
        // SAFETY: a live request and writable outputs.
        unsafe {
            assert_eq!(
                sess_request_cookie_mode(page.req, &mut got_mode),
                error::S_OK
            );
            assert_eq!(
                sess_request_is_cookieless(page.req, &mut got_flag),
                error::S_OK
            );
            assert_eq!(
                sess_request_cookie_mode(page.req, null_mut()),
                error::E_POINTER
            );
            assert_eq!(
                sess_request_is_cookieless(null(), &mut got_flag),
                error::E_POINTER
            );
        }
        assert_eq!((got_mode, got_flag), (mode, cookieless));
    }
}

/// A C variant made by `fill`, cleared after `use_it`.
fn with_variant(fill: impl FnOnce(*mut sess_variant), use_it: impl FnOnce(&sess_variant)) {
    // SAFETY: a variant initialised here and cleared once.
    unsafe {
        let mut v: sess_variant = std::mem::zeroed();
        sess_variant_init(&mut v);
        fill(&mut v);
        use_it(&v);
        assert_eq!(sess_variant_clear(&mut v), error::S_OK);
    }
}

fn bstr(v: *mut sess_variant, text: &std::ffi::CStr) {
    // SAFETY: an initialised variant; a NUL-terminated string.
    assert_eq!(
        unsafe { sess_variant_set_bstr(v, text.as_ptr(), usize::MAX) },
        error::S_OK
    );
}

fn set(s: *mut sess_session, name: &std::ffi::CStr, fill: impl FnOnce(*mut sess_variant)) {
    with_variant(fill, |v| {
        // SAFETY: a live session; a valid variant.
        assert_eq!(unsafe { sess_value_set(s, name.as_ptr(), v) }, error::S_OK)
    });
}

/// The array's elements as (vt, en-US text).
fn elements(a: *mut sess_array, n: usize) -> Vec<(u16, String)> {
    (0..n)
        .map(|i| {
            // SAFETY: a live array; variants initialised here, cleared once.
            unsafe {
                let mut v: sess_variant = std::mem::zeroed();
                sess_variant_init(&mut v);
                assert_eq!(sess_array_get(a, i, &mut v), error::S_OK);
                let tag = v.vt;
                let mut t: sess_variant = std::mem::zeroed();
                sess_variant_init(&mut t);
                assert_eq!(
                    sess_variant_change_type(&mut t, &v, 0x0409, 0, vt::BSTR),
                    error::S_OK
                );
                let b = t.v.bstrVal;
                let text = std::str::from_utf8(std::slice::from_raw_parts(b.ptr.cast(), b.len))
                    .unwrap()
                    .to_owned();
                sess_variant_clear(&mut v);
                sess_variant_clear(&mut t);
                (tag, text)
            }
        })
        .collect()
}

#[test]
fn copy_to_a_callers_array_at_an_index() {
    let page = Page::new(false);
    let s = page.session();
    // SAFETY (the closures): initialised variants.
    set(s, c"a", |v| {
        assert_eq!(unsafe { sess_variant_set_i4(v, 1) }, error::S_OK)
    });
    set(s, c"b", |v| bstr(v, c"two"));
    set(s, c"c", |v| {
        assert_eq!(unsafe { sess_variant_set_bool(v, true) }, error::S_OK)
    });
    // SAFETY: live handles and a caller-owned array, destroyed once.
    unsafe {
        let mut dst = null_mut();
        assert_eq!(sess_array_create(5, &mut dst), error::S_OK);
        with_variant(
            |v| bstr(v, c"kept"),
            |v| assert_eq!(sess_array_set(dst, 0, v), error::S_OK),
        );
        assert_eq!(sess_contents_copy_to(s, dst, 1), error::S_OK);
        let copied = [
            (vt::BSTR, "kept"),
            (vt::I4, "1"),
            (vt::BSTR, "two"),
            (vt::BOOL, "-1"),
            (vt::EMPTY, ""),
        ]
        .map(|(t, s)| (t, s.to_owned()));
        assert_eq!(elements(dst, 5), copied);
        // ASP.NET's ArgumentException cases, each leaving the array unchanged.
        assert_eq!(
            sess_contents_copy_to(s, dst, 3),
            error::E_INVALIDARG,
            "2 slots for 3 values"
        );
        assert_eq!(
            sess_contents_copy_to(s, dst, 6),
            error::DISP_E_BADINDEX,
            "index past the end"
        );
        assert_eq!(elements(dst, 5), copied);
        assert_eq!(
            sess_contents_copy_to(s, dst, 2),
            error::S_OK,
            "exactly enough room"
        );
        assert_eq!(sess_contents_copy_to(s, null_mut(), 0), error::E_POINTER);
        assert_eq!(sess_contents_copy_to(null_mut(), dst, 0), error::E_POINTER);
        sess_array_destroy(dst);
    }
}

#[test]
fn the_lcid_in_effect_resolves_the_aliases() {
    // SAFETY: every pointer is a local or a live handle made here.
    unsafe {
        let mut opts: sess_app_options = std::mem::zeroed();
        assert_eq!(sess_app_options_init(&mut opts), error::S_OK);
        opts.default_lcid = 0x040C;
        let mut app = null_mut();
        assert_eq!(sess_app_create(&opts, &mut app), error::S_OK);
        let mut s = null_mut();
        assert_eq!(sess_session_create(app, &mut s), error::S_OK);
        for (set, as_set, effective) in [
            (0x0407, 0x0407, 0x0407),
            (0, 0, 0x040C),
            (0x0400, 0x0400, 0x040C),
            (0x0800, 0x0800, 0x040C),
            (0x0411, 0x0411, 0x0411),
        ] {
            let (mut got, mut eff) = (1, 1);
            assert_eq!(sess_lcid(s, &set, &mut got), error::S_OK);
            assert_eq!(sess_lcid_effective(s, &mut eff), error::S_OK);
            assert_eq!((got, eff), (as_set, effective), "{set:#x}");
        }
        assert_eq!(sess_lcid_effective(s, null_mut()), error::E_POINTER);
        assert_eq!(sess_session_close(s), error::S_OK);
        sess_app_release(app);
    }
}
