//! IHttpSessionState's CookieMode / IsCookieless and CopyTo through the C
//! exports, on sessions of web requests.

use sess::app::{App, AppOptions};
use sess::error;
use sess::ffi::session_state::{
    sess_contents_copy_to, sess_request_cookie_mode, sess_request_is_cookieless,
    COOKIE_MODE_USE_COOKIES, COOKIE_MODE_USE_URI,
};
use sess::variant::{SafeArray, Variant};
use sess::web::{RequestInfo, SessionUse, Site, WebOptions};

fn site(cookieless: bool) -> (Site, App) {
    let app = App::new(AppOptions::default()).unwrap();
    let mut site = Site::new();
    let web = WebOptions {
        cookieless,
        ..WebOptions::default()
    };
    site.add("/", &app, web).unwrap();
    (site, app)
}

fn info(path: &str) -> RequestInfo<'_> {
    RequestInfo {
        path,
        cookie_header: None,
        https: false,
        session_use: SessionUse::Exclusive,
    }
}

#[test]
fn cookie_mode_and_is_cookieless() {
    for (cookieless, mode) in [
        (true, COOKIE_MODE_USE_URI),
        (false, COOKIE_MODE_USE_COOKIES),
    ] {
        let (site, _app) = site(cookieless);
        let req = site.begin(&info("/page")).unwrap();
        let (mut got_mode, mut got_flag) = (99, !cookieless);
        // SAFETY: a live request and writable outputs.
        unsafe {
            assert_eq!(sess_request_cookie_mode(&req, &mut got_mode), error::S_OK);
            assert_eq!(sess_request_is_cookieless(&req, &mut got_flag), error::S_OK);
            assert_eq!(
                sess_request_cookie_mode(&req, std::ptr::null_mut()),
                error::E_POINTER
            );
            assert_eq!(
                sess_request_is_cookieless(std::ptr::null(), &mut got_flag),
                error::E_POINTER
            );
        }
        assert_eq!((got_mode, got_flag), (mode, cookieless));
        req.end(false).unwrap();
    }
}

#[test]
fn copy_to_a_callers_array_at_an_index() {
    let (site, _app) = site(false);
    let mut req = site.begin(&info("/page")).unwrap();
    let s = req.session_or_new().unwrap();
    s.set("a", Variant::I4(1)).unwrap();
    s.set("b", Variant::bstr("two")).unwrap();
    s.set("c", Variant::bool(true)).unwrap();
    let mut dst = SafeArray::new(5).unwrap();
    dst.set(0, Variant::bstr("kept")).unwrap();
    // SAFETY: a live session and a caller-owned array.
    let copy =
        |s: &mut _, dst: &mut SafeArray, index| unsafe { sess_contents_copy_to(s, dst, index) };
    assert_eq!(copy(s, &mut dst, 1), error::S_OK);
    let got: Vec<&Variant> = dst.iter().collect();
    assert_eq!(
        got,
        [
            &Variant::bstr("kept"),
            &Variant::I4(1),
            &Variant::bstr("two"),
            &Variant::bool(true),
            &Variant::Empty
        ]
    );
    // ASP.NET's ArgumentException cases, each leaving the array unchanged.
    let before = dst.clone();
    assert_eq!(
        copy(s, &mut dst, 3),
        error::E_INVALIDARG,
        "2 slots for 3 values"
    );
    assert_eq!(
        copy(s, &mut dst, 6),
        error::DISP_E_BADINDEX,
        "index past the end"
    );
    assert_eq!(dst, before);
    assert_eq!(copy(s, &mut dst, 2), error::S_OK, "exactly enough room");
    // SAFETY: NULL is what is tested.
    unsafe {
        assert_eq!(
            sess_contents_copy_to(s, std::ptr::null_mut(), 0),
            error::E_POINTER
        );
        assert_eq!(
            sess_contents_copy_to(std::ptr::null_mut(), &mut dst, 0),
            error::E_POINTER
        );
    }
    // An empty session copies nothing, even at the very end.
    s.remove_all().unwrap();
    assert_eq!(copy(s, &mut dst, 5), error::S_OK);
    req.end(false).unwrap();
}

#[test]
fn the_lcid_in_effect_resolves_the_aliases() {
    use sess::ffi::session::sess_lcid;
    use sess::ffi::session_state::sess_lcid_effective;
    let app = App::new(AppOptions {
        default_lcid: 0x040C,
        ..AppOptions::default()
    })
    .unwrap();
    let mut s = app.create_session().unwrap();
    for (set, as_set, effective) in [
        (0x0407, 0x0407, 0x0407),
        (0, 0, 0x040C),
        (0x0400, 0x0400, 0x040C),
        (0x0800, 0x0800, 0x040C),
        (0x0411, 0x0411, 0x0411),
    ] {
        let (mut got, mut eff) = (1, 1);
        // SAFETY: a live session and writable outputs.
        unsafe {
            assert_eq!(sess_lcid(&mut s, &set, &mut got), error::S_OK);
            assert_eq!(sess_lcid_effective(&mut s, &mut eff), error::S_OK);
        }
        assert_eq!((got, eff), (as_set, effective), "{set:#x}");
    }
    // SAFETY: NULL is what is tested.
    unsafe {
        assert_eq!(
            sess_lcid_effective(&mut s, std::ptr::null_mut()),
            error::E_POINTER
        );
    }
    s.close().unwrap();
}
