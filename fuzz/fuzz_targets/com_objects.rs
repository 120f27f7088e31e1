//! Late-bound calls with hostile arguments on every COM object a session
//! hands out: the Session object, its Contents and StaticObjects
//! dictionaries, and their enumerators, taken from the Session object and
//! from `invoke` results. `invoke` gets any DISPID near the members', any
//! 16 flag bits, up to 4 arguments of any type (strings, arrays, nested
//! arrays, the objects themselves, bad tags, out-of-range dates) and
//! named-argument lists that do not match them (too many, wrong DISPIDs);
//! enumerators get any `next` count up to their buffer and any `skip`
//! count; the unit of work may end while objects are still held. Every
//! call must return a defined code, `*arg_err` must name an argument the
//! call had, results must be clearable, and nothing may leak or crash
//! (ASan) — including objects stored inside the session they belong to.
#![no_main]

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

use libfuzzer_sys::fuzz_target;
use sess::ffi::app::{sess_app_create, sess_app_options_init, sess_app_release};
use sess::ffi::array::{sess_array_create, sess_array_set};
use sess::ffi::com::dispatch::{sess_dispatch, sess_dispparams};
use sess::ffi::com::enumerator::sess_enum_variant;
use sess::ffi::com::session_object::sess_session_interface;
use sess::ffi::com::{SESS_IID_IDISPATCH, SESS_IID_IENUMVARIANT};
use sess::ffi::session::{sess_session_close, sess_session_create};
use sess::ffi::variant::{
    sess_variant, sess_variant_clear, sess_variant_init, sess_variant_set_bstr,
};
use sess::variant::vt;

/// Most objects of each kind held at once.
const HELD: usize = 4;
/// `next`'s buffer, in variants.
const BUF: usize = 5;

/// A failure code must be one the library defines.
fn check(rc: i32) {
    let known = sess::error::ALL.iter().any(|&(_, c)| c == rc);
    assert!(known, "undefined result code {rc:#010x}");
}

/// Reads the fuzzer's bytes as a script.
struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    /// Up to 15 bytes of text (may be invalid UTF-8, may hold a NUL).
    fn text(&mut self) -> Vec<u8> {
        let n = usize::from(self.byte() & 0x0F).min(self.0.len());
        let (t, rest) = self.0.split_at(n);
        self.0 = rest;
        t.to_vec()
    }

    /// A variant the caller owns and clears: any scalar, a string, an
    /// array (maybe nested, maybe holding an object), one of `objects`
    /// (AddRef'd), or one no call may accept (a bad tag, a date out of
    /// range).
    ///
    /// # Safety
    /// `objects` are live.
    unsafe fn value(&mut self, objects: &[*mut sess_dispatch], depth: u32) -> sess_variant {
        let mut v = std::mem::MaybeUninit::<sess_variant>::uninit();
        // SAFETY: initialises the variant.
        unsafe { sess_variant_init(v.as_mut_ptr()) };
        // SAFETY: just initialised.
        let mut v = unsafe { v.assume_init() };
        let b = self.byte();
        match b % 12 {
            0 => {
                v.vt = vt::I4;
                v.v.lVal = i32::from(self.byte() as i8);
            }
            1 => {
                v.vt = vt::R8;
                v.v.dblVal = [0.0, -1.0, 1.5, 1e300, f64::NAN, 2.0, 3.0][usize::from(b >> 4) % 7];
            }
            2 => {
                v.vt = vt::DATE;
                v.v.date = f64::from(self.byte()) * 1e4 - 7e5;
            }
            3 => {
                v.vt = vt::ERROR;
                // Sometimes DISP_E_PARAMNOTFOUND: an omitted argument.
                v.v.scode = if b & 0x10 != 0 {
                    0x8002_0004_u32 as i32
                } else {
                    5
                };
            }
            4 => v.vt = [vt::EMPTY, vt::NULL][usize::from(b >> 4) % 2],
            5 => {
                v.vt = vt::BOOL;
                v.v.boolVal = -1;
            }
            6 => v.vt = [0x7FFF, 0x4003, vt::ARRAY | vt::I4][usize::from(b >> 4) % 3],
            7 | 8 => {
                let t = self.text();
                // SAFETY: a live variant; t readable for its length.
                check(unsafe { sess_variant_set_bstr(&mut v, t.as_ptr().cast(), t.len()) });
            }
            9 if !objects.is_empty() => {
                let o = objects[usize::from(b >> 4) % objects.len()];
                // SAFETY: a live object; the variant owns the reference.
                unsafe { ((*(*o).vtbl).add_ref)(o) };
                v.vt = vt::DISPATCH;
                v.v.punkVal = o.cast();
            }
            10 | 11 if depth < 3 => {
                let n = usize::from(self.byte() % 4);
                let mut arr = null_mut();
                // SAFETY: out is writable.
                check(unsafe { sess_array_create(n, &mut arr) });
                for i in 0..n {
                    // SAFETY: per this function's contract.
                    let mut e = unsafe { self.value(objects, depth + 1) };
                    // SAFETY: a live array and variant.
                    check(unsafe { sess_array_set(arr, i, &e) });
                    // SAFETY: a live variant.
                    check(unsafe { sess_variant_clear(&mut e) });
                }
                v.vt = vt::ARRAY | vt::VARIANT;
                v.v.parray = arr;
            }
            _ => {
                v.vt = vt::I2;
                v.v.iVal = i16::from(b);
            }
        }
        v
    }
}

/// What an object's result was: kept if it is an object we can use.
///
/// # Safety
/// `v` is an initialised variant; the held objects are live.
unsafe fn keep(
    v: &mut sess_variant,
    dispatch: &mut Vec<*mut sess_dispatch>,
    enums: &mut Vec<*mut sess_enum_variant>,
) {
    if matches!(v.vt, vt::DISPATCH | vt::UNKNOWN) {
        // SAFETY: an object variant holds a live object.
        let o: *mut sess_dispatch = unsafe { v.v.punkVal }.cast();
        if !o.is_null() {
            // SAFETY: every object's vtable starts with IUnknown's entries.
            let qi = unsafe { (*(*o).vtbl).query_interface };
            let mut out: *mut c_void = null_mut();
            // SAFETY: a live object, a valid IID and out pointer.
            if enums.len() < HELD && unsafe { qi(o, &SESS_IID_IENUMVARIANT, &mut out) } >= 0 {
                enums.push(out.cast());
            } else if dispatch.len() < HELD
                // SAFETY: as above.
                && unsafe { qi(o, &SESS_IID_IDISPATCH, &mut out) } >= 0
            {
                dispatch.push(out.cast());
            }
        }
    }
    // SAFETY: an initialised variant.
    check(unsafe { sess_variant_clear(v) });
}

fuzz_target!(|data: &[u8]| {
    let mut script = Script(data);
    // SAFETY: the C contract, kept by this driver: live handles and objects
    // only, every variant initialised and cleared, every reference released.
    unsafe {
        let mut opts = std::mem::MaybeUninit::uninit();
        assert_eq!(sess_app_options_init(opts.as_mut_ptr()), 0);
        let opts = opts.assume_init();
        let mut app = null_mut();
        assert_eq!(sess_app_create(&opts, &mut app), 0);
        let mut s = null_mut();
        assert_eq!(sess_session_create(app, &mut s), 0);
        let mut obj = null_mut();
        assert_eq!(sess_session_interface(s, &mut obj), 0);
        let mut dispatch: Vec<*mut sess_dispatch> = vec![obj.cast()];
        let mut enums: Vec<*mut sess_enum_variant> = Vec::new();
        let mut steps = 0;
        while !script.0.is_empty() && steps < 48 {
            steps += 1;
            let op = script.byte();
            let pick = usize::from(script.byte());
            match op % 8 {
                0..=3 if !dispatch.is_empty() => {
                    let o = dispatch[pick % dispatch.len()];
                    let dispid = i32::from(script.byte() % 16) - 6;
                    let flags = match script.byte() {
                        f @ 0..=0xEF => u16::from(f & 0x0F),
                        f => u16::from(f) << 8 | u16::from(script.byte()),
                    };
                    let nargs = usize::from(script.byte() % 5);
                    let mut args: Vec<sess_variant> =
                        (0..nargs).map(|_| script.value(&dispatch, 0)).collect();
                    // Usually DISPID_PROPERTYPUT for a put; sometimes more
                    // names than arguments, or other DISPIDs.
                    let nb = script.byte();
                    let named = [-3i32, i32::from(nb as i8), 0, -3, 7, -1];
                    let named_count = match nb % 4 {
                        0 => 0,
                        1 => u32::from(nargs > 0),
                        2 => u32::from(nb >> 5) % 7,
                        _ => (nargs as u32).min(named.len() as u32),
                    };
                    let named_ptr = if nb & 0x80 != 0 && named_count == 0 {
                        std::ptr::null()
                    } else {
                        named
                            .as_ptr()
                            .add((nb as usize >> 2) % 2 * usize::from(named_count < 5))
                    };
                    let params = sess_dispparams {
                        args: if nargs == 0 && nb & 0x40 != 0 {
                            std::ptr::null()
                        } else {
                            args.as_ptr()
                        },
                        named_args: named_ptr,
                        arg_count: nargs as u32,
                        named_count: named_count.min(named.len() as u32 - 1),
                    };
                    let mut out = std::mem::MaybeUninit::uninit();
                    sess_variant_init(out.as_mut_ptr());
                    let mut out = out.assume_init();
                    let mut arg_err = u32::MAX;
                    let no_params = nb == 0xFF;
                    let rc = ((*(*o).vtbl).invoke)(
                        o,
                        dispid,
                        0x0409,
                        flags,
                        if no_params { std::ptr::null() } else { &params },
                        &mut out,
                        &mut arg_err,
                    );
                    check(rc);
                    assert!(
                        arg_err == u32::MAX || (arg_err as usize) < nargs,
                        "arg_err {arg_err} of {nargs} arguments (rc {rc:#x})"
                    );
                    for a in &mut args {
                        check(sess_variant_clear(a));
                    }
                    keep(&mut out, &mut dispatch, &mut enums);
                }
                4 if !enums.is_empty() => {
                    let e = enums[pick % enums.len()];
                    let vtbl = &*(*e).vtbl;
                    let n = u32::from(script.byte()) % (BUF as u32 + 1);
                    let mut buf: Vec<sess_variant> = (0..BUF)
                        .map(|_| {
                            let mut v = std::mem::MaybeUninit::uninit();
                            sess_variant_init(v.as_mut_ptr());
                            v.assume_init()
                        })
                        .collect();
                    let mut fetched = u32::MAX;
                    let rc = (vtbl.next)(e, n, buf.as_mut_ptr(), &mut fetched);
                    check(rc);
                    if rc >= 0 {
                        assert!(fetched <= n, "fetched {fetched} of {n}");
                    }
                    for v in &mut buf {
                        check(sess_variant_clear(v));
                    }
                }
                5 if !enums.is_empty() => {
                    let e = enums[pick % enums.len()];
                    let vtbl = &*(*e).vtbl;
                    match script.byte() % 4 {
                        0 => check((vtbl.skip)(e, u32::from(script.byte()))),
                        1 => check((vtbl.skip)(e, u32::MAX - u32::from(script.byte()))),
                        2 => check((vtbl.reset)(e)),
                        _ => {
                            let mut c = null_mut();
                            let rc = (vtbl.clone)(e, &mut c);
                            check(rc);
                            if rc >= 0 {
                                if enums.len() < HELD {
                                    enums.push(c);
                                } else {
                                    (vtbl.release)(c);
                                }
                            }
                        }
                    }
                }
                6 => {
                    // Names: a member's, any text, or a second name.
                    let mut name = script.text();
                    if name.contains(&0) || name.is_empty() {
                        name = [&b"Contents"[..], b"_NewEnum", b"item", b"Value", b"Count"]
                            [pick % 5]
                            .to_vec();
                    }
                    name.push(0);
                    let names = [name.as_ptr().cast::<c_char>(), c"Key".as_ptr()];
                    let count = 1 + u32::from(pick & 0x80 != 0);
                    let mut ids = [0i32; 2];
                    if let Some(&o) = dispatch.get(pick % dispatch.len().max(1)) {
                        let rc = ((*(*o).vtbl).get_ids_of_names)(
                            o,
                            names.as_ptr(),
                            count,
                            0,
                            ids.as_mut_ptr(),
                        );
                        check(rc);
                    }
                }
                7 if pick % 16 == 0 && !s.is_null() => {
                    // The unit of work ends under the objects.
                    check(sess_session_close(std::mem::replace(&mut s, null_mut())));
                }
                _ => {
                    // Let go of an object.
                    if pick & 1 == 0 && dispatch.len() > 1 {
                        let o = dispatch.swap_remove(pick % dispatch.len());
                        ((*(*o).vtbl).release)(o);
                    } else if !enums.is_empty() {
                        let e = enums.swap_remove(pick % enums.len());
                        ((*(*e).vtbl).release)(e);
                    }
                }
            }
        }
        for o in dispatch {
            ((*(*o).vtbl).release)(o);
        }
        for e in enums {
            ((*(*e).vtbl).release)(e);
        }
        if !s.is_null() {
            check(sess_session_close(s));
        }
        sess_app_release(app);
    }
});
