//! Random sequences of C API calls on a few session handles of one
//! application, through the exported `extern "C"` functions (declared here
//! from `sess.h`, as a C host sees them), with values of several types and
//! some no call may accept, and late-bound calls (`invoke`) on the
//! Session's COM object. Every call must return a defined code; handles
//! stay usable; nothing leaks or crashes (run under ASan by cargo-fuzz).
#![no_main]

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

use libfuzzer_sys::fuzz_target;
// Links the library whose exports are declared below.
use sess as _;

/// `sess_variant`: 24 bytes, the tag first, the value at offset 8.
#[repr(C)]
struct Variant {
    vt: u16,
    reserved: [u16; 3],
    value: [u64; 2],
}

impl Variant {
    fn empty() -> Variant {
        Variant {
            vt: 0,
            reserved: [0; 3],
            value: [0; 2],
        }
    }
}

type Handle = *mut c_void;

/// The Session's COM object (`sess_session_object`) and its call by name.
type SessionObject = sess::ffi::com::session_object::sess_session_object;
type DispParams = sess::ffi::com::dispatch::sess_dispparams;

/// `sess_app_options`, as the header declares it.
type AppOptions = sess::ffi::app::sess_app_options;

extern "C" {
    fn sess_app_options_init(opts: *mut AppOptions) -> i32;
    fn sess_app_create(opts: *const AppOptions, out: *mut Handle) -> i32;
    fn sess_app_release(app: Handle);
    fn sess_app_expire(app: Handle, out: *mut usize) -> i32;
    fn sess_app_session_count(app: Handle, out: *mut usize) -> i32;
    fn sess_session_create(app: Handle, out: *mut Handle) -> i32;
    fn sess_session_open(app: Handle, id: *const c_char, flags: u32, out: *mut Handle) -> i32;
    fn sess_session_close(s: Handle) -> i32;
    fn sess_session_discard(s: Handle) -> i32;
    fn sess_session_regenerate_id(s: Handle) -> i32;
    fn sess_session_id(s: Handle, buf: *mut c_char, len: usize, out: *mut usize) -> i32;
    fn sess_value_get(s: Handle, name: *const c_char, out: *mut Variant) -> i32;
    fn sess_value_set(s: Handle, name: *const c_char, value: *const Variant) -> i32;
    fn sess_value_txt(
        s: Handle,
        name: *const c_char,
        new_text: *const c_char,
        buf: *mut c_char,
        len: usize,
        out: *mut usize,
    ) -> i32;
    fn sess_value_get_i4(s: Handle, name: *const c_char, out: *mut i32) -> i32;
    fn sess_value_get_r8(s: Handle, name: *const c_char, out: *mut f64) -> i32;
    fn sess_value_get_bool(s: Handle, name: *const c_char, out: *mut bool) -> i32;
    fn sess_value_get_date(s: Handle, name: *const c_char, out: *mut f64) -> i32;
    fn sess_value_borrow_bstr(
        s: Handle,
        name: *const c_char,
        out: *mut *const c_char,
        out_len: *mut usize,
    ) -> i32;
    fn sess_value_set_i4(s: Handle, name: *const c_char, value: i32) -> i32;
    fn sess_value_set_date(s: Handle, name: *const c_char, value: f64) -> i32;
    fn sess_value_set_bstr(s: Handle, name: *const c_char, utf8: *const c_char, len: usize) -> i32;
    fn sess_contents_count(s: Handle, out: *mut usize) -> i32;
    fn sess_contents_key_at(
        s: Handle,
        index: usize,
        buf: *mut c_char,
        len: usize,
        out: *mut usize,
    ) -> i32;
    fn sess_contents_get_at(s: Handle, index: usize, out: *mut Variant) -> i32;
    fn sess_contents_set_at(s: Handle, index: usize, value: *const Variant) -> i32;
    fn sess_contents_remove(s: Handle, name: *const c_char) -> i32;
    fn sess_contents_remove_at(s: Handle, index: usize) -> i32;
    fn sess_contents_remove_all(s: Handle) -> i32;
    fn sess_contents_copy(s: Handle, out: *mut Variant) -> i32;
    fn sess_timeout(s: Handle, new: *const i32, out: *mut i32) -> i32;
    fn sess_lcid(s: Handle, new: *const u32, out: *mut u32) -> i32;
    fn sess_codepage(s: Handle, new: *const u32, out: *mut u32) -> i32;
    fn sess_abandon(s: Handle) -> i32;
    fn sess_session_interface(s: Handle, out: *mut *mut SessionObject) -> i32;
    fn sess_variant_set_bstr(v: *mut Variant, utf8: *const c_char, len: usize) -> i32;
    fn sess_variant_clear(v: *mut Variant) -> i32;
    fn sess_variant_change_type(
        dst: *mut Variant,
        src: *const Variant,
        lcid: u32,
        flags: u16,
        vt: u16,
    ) -> i32;
}

/// Reads the fuzzer's bytes as a script.
struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// A value of one of several types, or one no call may accept (a bad
    /// tag, a NULL by-reference pointer); the caller clears it.
    ///
    /// # Safety
    /// Calls the library's variant functions.
    unsafe fn value(&mut self) -> Variant {
        let mut v = Variant::empty();
        let b = self.byte().unwrap_or(0);
        let (vt, bits) = match b % 9 {
            0 => (3, u64::from(b)),                         // VT_I4
            1 => (5, (f64::from(b) - 100.0).to_bits()),     // VT_R8
            2 => (7, (f64::from(b) * 1e4 - 7e5).to_bits()), // VT_DATE, some out of range
            3 => (11, 0xFFFF),                              // VT_BOOL
            4 => (1, 0),                                    // VT_NULL
            5 => (0, 0),                                    // VT_EMPTY
            6 => (0x7FFF, 0),                               // no such type
            7 => (0x4003, 0),                               // VT_BYREF | VT_I4, NULL
            _ => {
                let text = self.text();
                // SAFETY: per the caller.
                check(unsafe {
                    sess_variant_set_bstr(&mut v, text.as_ptr().cast(), text.len() - 1)
                });
                return v;
            }
        };
        v.vt = vt;
        v.value[0] = bits;
        v
    }

    /// Up to 15 bytes of text, NUL-terminated (may be invalid UTF-8).
    fn text(&mut self) -> Vec<u8> {
        let n = usize::from(self.byte().unwrap_or(0) & 0x0F).min(self.0.len());
        let (t, rest) = self.0.split_at(n);
        self.0 = rest;
        let mut t: Vec<u8> = t.iter().map(|&b| if b == 0 { b'k' } else { b }).collect();
        t.push(0);
        t
    }
}

/// A failure code must be one the library defines (sess_error_message knows it).
fn check(rc: i32) {
    let known = sess::error::ALL.iter().any(|&(_, c)| c == rc);
    assert!(known, "undefined result code {rc:#010x}");
}

fuzz_target!(|data: &[u8]| {
    let mut script = Script(data);
    let mut app: Handle = null_mut();
    // SAFETY: the C contract, kept by this driver: live handles only, every
    // variant initialised and cleared.
    unsafe {
        // A short lock timeout: two slots on one session wait it out.
        let mut opts = std::mem::MaybeUninit::<AppOptions>::uninit();
        assert_eq!(sess_app_options_init(opts.as_mut_ptr()), 0);
        let mut opts = opts.assume_init();
        opts.lock_timeout_ms = 10;
        assert_eq!(sess_app_create(&opts, &mut app), 0);
        let mut slots: [Handle; 3] = [null_mut(); 3];
        let mut ids: Vec<Vec<u8>> = Vec::new();
        let mut steps = 0;
        while let Some(op) = script.byte() {
            steps += 1;
            if steps > 64 {
                break;
            }
            let slot = usize::from(op >> 5) % slots.len();
            let s = slots[slot];
            let mut out = Variant::empty();
            let mut buf = [0 as c_char; 64];
            let mut n = 0usize;
            let rc = match op & 0x1F {
                0 | 1 if s.is_null() => sess_session_create(app, &mut slots[slot]),
                2 if s.is_null() && !ids.is_empty() => {
                    let id = &ids[usize::from(op) % ids.len()];
                    let flags = u32::from(script.byte().unwrap_or(0) & 1);
                    sess_session_open(app, id.as_ptr().cast(), flags, &mut slots[slot])
                }
                _ if s.is_null() => continue,
                0 => sess_session_close(std::mem::replace(&mut slots[slot], null_mut())),
                1 => sess_session_discard(std::mem::replace(&mut slots[slot], null_mut())),
                2 | 3 => {
                    let key = script.text();
                    let mut v = script.value();
                    let rc = sess_value_set(s, key.as_ptr().cast(), &v);
                    check(sess_variant_clear(&mut v));
                    rc
                }
                4 => sess_value_get(s, script.text().as_ptr().cast(), &mut out),
                5 => {
                    let key = script.text();
                    let text = script.text();
                    let len = usize::from(script.byte().unwrap_or(0)) % buf.len();
                    sess_value_txt(
                        s,
                        key.as_ptr().cast(),
                        text.as_ptr().cast(),
                        buf.as_mut_ptr(),
                        len,
                        &mut n,
                    )
                }
                6 => sess_contents_count(s, &mut n),
                7 => {
                    let len = usize::from(script.byte().unwrap_or(0)) % buf.len();
                    sess_contents_key_at(s, usize::from(op >> 6), buf.as_mut_ptr(), len, &mut n)
                }
                8 => sess_contents_get_at(s, usize::from(script.byte().unwrap_or(0) % 4), &mut out),
                9 => {
                    let mut v = Variant::empty();
                    v.vt = 11; // VT_BOOL
                    v.value[0] = 0xFFFF;
                    sess_contents_set_at(s, usize::from(script.byte().unwrap_or(0) % 4), &v)
                }
                10 => sess_contents_remove(s, script.text().as_ptr().cast()),
                11 => sess_contents_remove_at(s, usize::from(script.byte().unwrap_or(0) % 4)),
                12 => sess_contents_remove_all(s),
                13 => sess_contents_copy(s, &mut out),
                14 => {
                    let t = i32::from(script.byte().unwrap_or(0) as i8) * 100;
                    let mut got = 0;
                    sess_timeout(s, &t, &mut got)
                }
                15 => {
                    let l =
                        [0x0409u32, 0x040C, 0x0411, 0xABCD, 0, 0x0400][usize::from(op >> 5) % 6];
                    let mut got = 0;
                    sess_lcid(s, &l, &mut got)
                }
                16 => {
                    let c = [65001u32, 932, 1252, 1200, 1, 950][usize::from(op >> 5) % 6];
                    let mut got = 0;
                    sess_codepage(s, &c, &mut got)
                }
                17 => sess_abandon(s),
                18 => sess_session_regenerate_id(s),
                19 => {
                    let len = usize::from(script.byte().unwrap_or(0)) % buf.len();
                    let rc = sess_session_id(s, buf.as_mut_ptr(), len, &mut n);
                    if rc == 0 {
                        let id = std::ffi::CStr::from_ptr(buf.as_ptr()).to_bytes_with_nul();
                        ids.push(id.to_vec());
                    }
                    rc
                }
                20 => {
                    let mut got = Variant::empty();
                    let rc = sess_value_get(s, script.text().as_ptr().cast(), &mut got);
                    let target = u16::from(script.byte().unwrap_or(0) % 22);
                    check(sess_variant_change_type(&mut out, &got, 0x0409, 0, target));
                    check(sess_variant_clear(&mut got));
                    rc
                }
                21 => sess_app_expire(app, &mut n),
                22 => {
                    let name = script.text();
                    let (mut i, mut d, mut b) = (0i32, 0f64, false);
                    match script.byte().unwrap_or(0) % 4 {
                        0 => sess_value_get_i4(s, name.as_ptr().cast(), &mut i),
                        1 => sess_value_get_r8(s, name.as_ptr().cast(), &mut d),
                        2 => sess_value_get_bool(s, name.as_ptr().cast(), &mut b),
                        _ => sess_value_get_date(s, name.as_ptr().cast(), &mut d),
                    }
                }
                23 => {
                    let (mut p, mut len) = (std::ptr::null(), 0usize);
                    let rc =
                        sess_value_borrow_bstr(s, script.text().as_ptr().cast(), &mut p, &mut len);
                    if rc >= 0 {
                        // Every lent byte is readable (ASan) and the text UTF-8.
                        let lent = std::slice::from_raw_parts(p.cast::<u8>(), len);
                        assert!(std::str::from_utf8(lent).is_ok(), "lent text not UTF-8");
                    }
                    rc
                }
                24 => {
                    let name = script.text();
                    let b = script.byte().unwrap_or(0);
                    match b % 3 {
                        0 => sess_value_set_i4(s, name.as_ptr().cast(), i32::from(b)),
                        // Whole days from far before to far past OLE's range.
                        1 => sess_value_set_date(s, name.as_ptr().cast(), f64::from(b) * 1e4 - 7e5),
                        _ => {
                            // A length inside the text, or SIZE_MAX (up to the NUL).
                            let text = script.text();
                            let len = match usize::from(b) % (text.len() + 1) {
                                n if n == text.len() => usize::MAX,
                                n => n,
                            };
                            sess_value_set_bstr(s, name.as_ptr().cast(), text.as_ptr().cast(), len)
                        }
                    }
                }
                25 => {
                    // A late-bound call on the Session's COM object: any
                    // DISPID near its members', any flags, 0-2 arguments.
                    let mut obj = null_mut();
                    let rc = sess_session_interface(s, &mut obj);
                    if rc < 0 {
                        rc
                    } else {
                        let dispid = i32::from(script.byte().unwrap_or(0) % 13) - 5;
                        let flags = u16::from(script.byte().unwrap_or(0) & 0x0F);
                        let nargs = usize::from(script.byte().unwrap_or(0) % 3);
                        let mut args: Vec<Variant> = (0..nargs).map(|_| script.value()).collect();
                        let named = [-3i32]; // DISPID_PROPERTYPUT, for puts
                        let params = DispParams {
                            args: args.as_ptr().cast(),
                            named_args: named.as_ptr(),
                            arg_count: nargs as u32,
                            named_count: u32::from(flags & 0x0C != 0 && nargs > 0),
                        };
                        let mut arg_err = u32::MAX;
                        let vtbl = &*(*obj).vtbl;
                        let rc = (vtbl.invoke)(
                            obj,
                            dispid,
                            0,
                            flags,
                            &params,
                            (&raw mut out).cast(),
                            &mut arg_err,
                        );
                        assert!(
                            arg_err == u32::MAX || (arg_err as usize) < nargs,
                            "arg_err {arg_err} of {nargs} arguments"
                        );
                        for a in &mut args {
                            check(sess_variant_clear(a));
                        }
                        (vtbl.release)(obj);
                        rc
                    }
                }
                _ => sess_app_session_count(app, &mut n),
            };
            check(rc);
            check(sess_variant_clear(&mut out));
        }
        for s in slots {
            if !s.is_null() {
                check(sess_session_close(s));
            }
        }
        sess_app_release(app);
    }
});
