//! `sess_session_object`: the Session as ASP's `ISessionObject` (X++'s
//! `interface()`), and `sess_session_interface`, which hands it out.

use std::ffi::{c_char, c_void};

use super::super::variant::sess_variant;
use super::super::{boundary, null, put_required, sess_result, text, write_text};
use super::args::arg;
use super::dictionary::{self, item_call, sess_variant_dictionary, Collection};
use super::dispatch::{
    get_ids_of_names, get_type_info, get_type_info_count, invoke as run, member_not_found,
    putref_object, sess_dispparams, Call, Dispatch, Key, Member, DISPID_VALUE,
};
use super::{add_ref, adopt, get_into, new_into, query_interface as qi, release, Com, Target};
use crate::app::Session;
use crate::error::{self as err, Result};
use crate::ffi::handle::sess_session;
use crate::variant::{vt, Guid, Unknown, Variant};

/// DISPID of `SessionID` (Value is `SESS_DISPID_VALUE`).
pub const DISPID_SESSION_SESSIONID: i32 = 1;
/// DISPID of `Timeout`.
pub const DISPID_SESSION_TIMEOUT: i32 = 2;
/// DISPID of `Abandon`.
pub const DISPID_SESSION_ABANDON: i32 = 3;
/// DISPID of `CodePage`.
pub const DISPID_SESSION_CODEPAGE: i32 = 4;
/// DISPID of `LCID`.
pub const DISPID_SESSION_LCID: i32 = 5;
/// DISPID of `StaticObjects`.
pub const DISPID_SESSION_STATICOBJECTS: i32 = 6;
/// DISPID of `Contents`.
pub const DISPID_SESSION_CONTENTS: i32 = 7;

/// The Session object (C callers call through `vtbl`).
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct sess_session_object {
    /// The object's methods.
    pub vtbl: *const sess_session_object_vtbl,
}

/// The methods of a `sess_session_object`, in `ISessionObject`'s vtable
/// order (asp.tlb): IUnknown's, IDispatch's, then SessionID, Value
/// get/put/putref, Timeout get/put, Abandon, CodePage get/put, LCID
/// get/put, StaticObjects, Contents. Each takes the object itself first
/// and does what the `sess_*` function of the same name does on the handle.
/// After the unit of work has ended (the handle closed or discarded, the
/// request ended, the event handler returned) every method but the first
/// three returns `SESS_E_OBJECT_DETACHED`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct sess_session_object_vtbl {
    /// IUnknown: `*out` receives the object AddRef'd for
    /// `SESS_IID_IUNKNOWN`, `SESS_IID_IDISPATCH` and
    /// `SESS_IID_ISESSIONOBJECT`; anything else is NULL and
    /// `SESS_E_NOINTERFACE`.
    pub query_interface: unsafe extern "C" fn(
        object: *mut sess_session_object,
        iid: *const Guid,
        out: *mut *mut c_void,
    ) -> sess_result,
    /// IUnknown: adds a reference; returns the new count.
    pub add_ref: unsafe extern "C" fn(object: *mut sess_session_object) -> u32,
    /// IUnknown: drops a reference, freeing the object at zero; returns the
    /// new count.
    pub release: unsafe extern "C" fn(object: *mut sess_session_object) -> u32,
    /// IDispatch: `*out` receives 0 (no type information).
    pub get_type_info_count:
        unsafe extern "C" fn(object: *mut sess_session_object, out: *mut u32) -> sess_result,
    /// IDispatch: no type information: `*out` NULL, `SESS_DISP_E_BADINDEX`.
    pub get_type_info: unsafe extern "C" fn(
        object: *mut sess_session_object,
        index: u32,
        lcid: u32,
        out: *mut *mut c_void,
    ) -> sess_result,
    /// IDispatch: the DISPIDs of `count` UTF-8 names (the member, then
    /// parameter names, which no member takes), case-insensitive; an unknown
    /// name gets `SESS_DISPID_UNKNOWN` and `SESS_DISP_E_UNKNOWNNAME`. `lcid`
    /// is ignored.
    pub get_ids_of_names: unsafe extern "C" fn(
        object: *mut sess_session_object,
        names: *const *const c_char,
        count: u32,
        lcid: u32,
        dispids: *mut i32,
    ) -> sess_result,
    /// IDispatch: calls member `dispid` with `flags` (`SESS_DISPATCH_*`) and
    /// `params` (may be NULL: no arguments); `*result` (NULL, or
    /// initialised: cleared first) receives a get's value (a put ignores
    /// `result`, as COM does); `*arg_err` (may be NULL) the `params->args`
    /// index of an argument that failed. `lcid`
    /// converts argument text, e.g. a Timeout given as "30" (0,
    /// `SESS_LOCALE_USER_DEFAULT` or `SESS_LOCALE_SYSTEM_DEFAULT`: the
    /// session's LCID; one the library does not know: text is
    /// `SESS_DISP_E_UNKNOWNLCID`, numbers need none). Value is the default member: `Session("x")` reads
    /// and writes Contents by name or 1-based index; `Contents` and
    /// `StaticObjects` with a key argument are their Item. The failure's
    /// detail is this thread's last error. Unknown DISPID, wrong kind of
    /// call or none (`flags` 0): `SESS_DISP_E_MEMBERNOTFOUND`; wrong
    /// argument count:
    /// `SESS_DISP_E_BADPARAMCOUNT`; an argument omitted (`SESS_VT_ERROR`
    /// holding `SESS_DISP_E_PARAMNOTFOUND`): `SESS_DISP_E_PARAMNOTOPTIONAL`.
    pub invoke: unsafe extern "C" fn(
        object: *mut sess_session_object,
        dispid: i32,
        lcid: u32,
        flags: u16,
        params: *const sess_dispparams,
        result: *mut sess_variant,
        arg_err: *mut u32,
    ) -> sess_result,
    /// SessionID: written to `buf` as `sess_session_id` does.
    pub get_session_id: unsafe extern "C" fn(
        object: *mut sess_session_object,
        buf: *mut c_char,
        buf_len: usize,
        out_len: *mut usize,
    ) -> sess_result,
    /// Value (get): as `sess_value_get` (missing: `SESS_VT_EMPTY`,
    /// `SESS_S_FALSE`).
    pub get_value: unsafe extern "C" fn(
        object: *mut sess_session_object,
        name: *const c_char,
        out: *mut sess_variant,
    ) -> sess_result,
    /// Value (put): as `sess_value_set`, but `value` may be by reference
    /// (`SESS_VT_BYREF`, see `sess_dispparams`). Nothing (an object variant
    /// holding NULL) is `SESS_E_POINTER`: a session holds live objects
    /// only (to drop an item, Remove it from Contents).
    pub put_value: unsafe extern "C" fn(
        object: *mut sess_session_object,
        name: *const c_char,
        value: *const sess_variant,
    ) -> sess_result,
    /// Value (putref, VBScript's `Set`): as put_value for an object
    /// (`SESS_VT_UNKNOWN` / `SESS_VT_DISPATCH`); other values are
    /// `SESS_DISP_E_TYPEMISMATCH`.
    pub putref_value: unsafe extern "C" fn(
        object: *mut sess_session_object,
        name: *const c_char,
        value: *const sess_variant,
    ) -> sess_result,
    /// Timeout (get), minutes.
    pub get_timeout:
        unsafe extern "C" fn(object: *mut sess_session_object, out: *mut i32) -> sess_result,
    /// Timeout (put): as `sess_timeout` with `new_minutes`.
    pub put_timeout:
        unsafe extern "C" fn(object: *mut sess_session_object, minutes: i32) -> sess_result,
    /// Abandon: as `sess_abandon`.
    pub abandon: unsafe extern "C" fn(object: *mut sess_session_object) -> sess_result,
    /// CodePage (get).
    pub get_code_page:
        unsafe extern "C" fn(object: *mut sess_session_object, out: *mut i32) -> sess_result,
    /// CodePage (put): as `sess_codepage` with `new_cp`.
    pub put_code_page:
        unsafe extern "C" fn(object: *mut sess_session_object, cp: i32) -> sess_result,
    /// LCID (get).
    pub get_lcid:
        unsafe extern "C" fn(object: *mut sess_session_object, out: *mut i32) -> sess_result,
    /// LCID (put): as `sess_lcid` with `new_lcid`.
    pub put_lcid: unsafe extern "C" fn(object: *mut sess_session_object, lcid: i32) -> sess_result,
    /// StaticObjects: `*out` receives a new dictionary object over the
    /// session's static objects (read-only). The caller owns the reference.
    pub get_static_objects: unsafe extern "C" fn(
        object: *mut sess_session_object,
        out: *mut *mut sess_variant_dictionary,
    ) -> sess_result,
    /// Contents: `*out` receives a new dictionary object over the session's
    /// values. The caller owns the reference.
    pub get_contents: unsafe extern "C" fn(
        object: *mut sess_session_object,
        out: *mut *mut sess_variant_dictionary,
    ) -> sess_result,
}

/// The Session object's state.
pub(crate) struct SessionObject {
    target: Target,
}

type Obj = Com<sess_session_object, SessionObject>;

impl Dispatch for SessionObject {
    const MEMBERS: &'static [Member] = &[
        Member {
            name: "Value",
            id: DISPID_VALUE,
        },
        Member {
            name: "SessionID",
            id: DISPID_SESSION_SESSIONID,
        },
        Member {
            name: "Timeout",
            id: DISPID_SESSION_TIMEOUT,
        },
        Member {
            name: "Abandon",
            id: DISPID_SESSION_ABANDON,
        },
        Member {
            name: "CodePage",
            id: DISPID_SESSION_CODEPAGE,
        },
        Member {
            name: "LCID",
            id: DISPID_SESSION_LCID,
        },
        Member {
            name: "StaticObjects",
            id: DISPID_SESSION_STATICOBJECTS,
        },
        Member {
            name: "Contents",
            id: DISPID_SESSION_CONTENTS,
        },
    ];

    fn target(&self) -> &Target {
        &self.target
    }
}

static VTBL: sess_session_object_vtbl = sess_session_object_vtbl {
    query_interface,
    add_ref: add_ref::<sess_session_object, SessionObject>,
    release: release::<sess_session_object, SessionObject>,
    get_type_info_count: get_type_info_count::<sess_session_object, SessionObject>,
    get_type_info: get_type_info::<sess_session_object, SessionObject>,
    get_ids_of_names: get_ids_of_names::<sess_session_object, SessionObject>,
    invoke,
    get_session_id,
    get_value,
    put_value,
    putref_value,
    get_timeout,
    put_timeout,
    abandon,
    get_code_page,
    put_code_page,
    get_lcid,
    put_lcid,
    get_static_objects,
    get_contents,
};

/// X++'s `interface()`: `*out` receives the Session as a COM-style object
/// (a `sess_session_object`; its vtable starts with IUnknown's, so it is
/// also a `sess_unknown`), holding one reference the caller owns and ends
/// with its `release`. The object works on the handle `s` while the handle's
/// unit of work lasts, and may outlive it: afterwards its calls return
/// `SESS_E_OBJECT_DETACHED` (QueryInterface, AddRef and Release still work).
/// It follows the handle's threading rule: one thread at a time, but for
/// AddRef and Release, whose count is atomic (any thread). For it and every
/// object reached from it: releasing a reference not held is the caller's
/// error, as in COM (the object may be gone); a count past 2^31 (references
/// never released) sticks, and the object is then never freed. A call made
/// while another call on the handle or its objects runs (a host callback,
/// such as a static object's factory, calling back in) is
/// `SESS_E_WRONG_STATE`.
#[no_mangle]
pub unsafe extern "C" fn sess_session_interface(
    s: *mut sess_session,
    out: *mut *mut Unknown,
) -> sess_result {
    boundary(|| {
        // SAFETY: `out` NULL or writable, `s` NULL or a live handle, per the
        // contract.
        unsafe {
            new_into(out, || {
                let target = Target::new(s)?;
                let obj = Obj::create(
                    sess_session_object { vtbl: &VTBL },
                    SessionObject { target },
                );
                Ok(obj.cast())
            })
        }
    })
}

/// Runs `f` on a live Session object's session.
///
/// # Safety
/// `object` NULL or a live Session object.
unsafe fn with<R>(
    object: *mut sess_session_object,
    f: impl FnOnce(&mut Session) -> Result<R>,
) -> Result<R> {
    // SAFETY: per the caller.
    unsafe { Obj::inner(object) }?.target.with(f)
}

/// A Session object method without output: `f` on the session, `S_OK`.
///
/// # Safety
/// `object` NULL or a live Session object.
unsafe fn act(
    object: *mut sess_session_object,
    f: impl FnOnce(&mut Session) -> Result<()>,
) -> sess_result {
    // SAFETY: per the caller.
    boundary(|| unsafe { with(object, f) }.map(|()| err::S_OK))
}

/// A Session object property get into `*out`.
///
/// # Safety
/// `object` NULL or a live Session object; `out` NULL or writable.
unsafe fn get<T>(
    object: *mut sess_session_object,
    out: *mut T,
    f: impl FnOnce(&mut Session) -> T,
) -> sess_result {
    boundary(|| {
        // SAFETY: per the caller.
        let v = unsafe { with(object, |s| Ok(f(s))) }?;
        // SAFETY: per the caller.
        unsafe { put_required(out, v, "out") }?;
        Ok(err::S_OK)
    })
}

/// A new dictionary object over `which`, as the getters hand it out.
///
/// # Safety
/// `object` NULL or a live Session object.
unsafe fn collection(
    object: *mut sess_session_object,
    which: Collection,
) -> Result<*mut sess_variant_dictionary> {
    // SAFETY: per the caller.
    let o = unsafe { Obj::inner(object) }?;
    o.target.check()?;
    Ok(dictionary::create(o.target.clone(), which))
}

unsafe extern "C" fn query_interface(
    object: *mut sess_session_object,
    iid: *const Guid,
    out: *mut *mut c_void,
) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { qi::<_, SessionObject>(object, iid, out, &super::SESS_IID_ISESSIONOBJECT, true) }
}

/// Sets an integer property from a late-bound put (converted to I4 under
/// `lcid`) or reads it.
fn int_property(
    call: &mut Call,
    name: &str,
    lcid: u32,
    s: &mut Session,
    get: impl FnOnce(&Session) -> i32,
    set: impl FnOnce(&mut Session, i32) -> Result<()>,
) -> Result<(Variant, sess_result)> {
    let lcid = if crate::locale::is_default_alias(lcid) {
        s.effective_lcid()
    } else {
        lcid
    };
    if let Some(v) = call.property(name, 0, false)? {
        let Variant::I4(n) = call.value_as(&v, lcid, vt::I4)? else {
            unreachable!("change_type to I4 gives an I4");
        };
        set(s, n)?;
        return Ok((Variant::Empty, err::S_OK));
    }
    Ok((Variant::I4(get(s)), err::S_OK))
}

unsafe extern "C" fn invoke(
    object: *mut sess_session_object,
    dispid: i32,
    lcid: u32,
    flags: u16,
    params: *const sess_dispparams,
    result: *mut sess_variant,
    arg_err: *mut u32,
) -> sess_result {
    let body = |call: &mut Call| {
        // SAFETY: the caller's contract.
        let target = &unsafe { Obj::inner(object) }?.target;
        target.with(|s| match dispid {
            DISPID_VALUE => item_call(s, Collection::Contents, "Value", call),
            DISPID_SESSION_SESSIONID => {
                call.getter("SessionID", 0)?;
                Ok((Variant::bstr(s.id().encode().as_str()), err::S_OK))
            }
            DISPID_SESSION_TIMEOUT => int_property(
                call,
                "Timeout",
                lcid,
                s,
                |s| i32::try_from(s.timeout()).unwrap_or(i32::MAX),
                |s, m| s.set_timeout(m.into()),
            ),
            DISPID_SESSION_ABANDON => {
                call.method("Abandon", 0)?;
                s.abandon();
                Ok((Variant::Empty, err::S_OK))
            }
            DISPID_SESSION_CODEPAGE => int_property(
                call,
                "CodePage",
                lcid,
                s,
                |s| s.codepage() as i32,
                |s, cp| s.set_codepage(cp as u32),
            ),
            DISPID_SESSION_LCID => int_property(
                call,
                "LCID",
                lcid,
                s,
                |s| s.lcid() as i32,
                |s, l| s.set_lcid(l as u32),
            ),
            DISPID_SESSION_STATICOBJECTS | DISPID_SESSION_CONTENTS => {
                let (which, name) = if dispid == DISPID_SESSION_CONTENTS {
                    (Collection::Contents, "Contents")
                } else {
                    (Collection::StaticObjects, "StaticObjects")
                };
                if call.has_args() || !call.is_get() {
                    // Contents("x"): the collection's default member.
                    return item_call(s, which, name, call);
                }
                call.getter(name, 0)?;
                let d = dictionary::create(target.clone(), which);
                // SAFETY: a new object; its reference moves into the value.
                Ok((Variant::Dispatch(unsafe { adopt(d) }?), err::S_OK))
            }
            _ => Err(member_not_found(dispid)),
        })
    };
    // SAFETY: the caller's contract.
    unsafe { run(params, flags, result, arg_err, body) }
}

unsafe extern "C" fn get_session_id(
    object: *mut sess_session_object,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let id = unsafe { with(object, |s| Ok(s.id().encode())) }?;
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(id.as_str(), buf, buf_len, out_len) }
    })
}

unsafe extern "C" fn get_value(
    object: *mut sess_session_object,
    name: *const c_char,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NUL-terminated per the contract.
        let key = Key::Name(unsafe { text(name, "name") }?.to_owned());
        // SAFETY: the caller's contract (`out` and `object`).
        unsafe { get_into(out, || with(object, |s| Collection::Contents.item(s, &key))) }
    })
}

/// put_value / putref_value.
///
/// # Safety
/// The caller's contract for those.
unsafe fn put_value_as(
    object: *mut sess_session_object,
    name: *const c_char,
    value: *const sess_variant,
    by_ref: bool,
) -> sess_result {
    boundary(|| {
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { text(name, "name") }?;
        // SAFETY: NULL or initialised per the contract.
        let value = unsafe { arg(value, "value") }?;
        if by_ref {
            putref_object("Value", &value)?;
        }
        // SAFETY: the caller's contract.
        unsafe { with(object, |s| s.set(name, value)) }?;
        Ok(err::S_OK)
    })
}

unsafe extern "C" fn put_value(
    object: *mut sess_session_object,
    name: *const c_char,
    value: *const sess_variant,
) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { put_value_as(object, name, value, false) }
}

unsafe extern "C" fn putref_value(
    object: *mut sess_session_object,
    name: *const c_char,
    value: *const sess_variant,
) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { put_value_as(object, name, value, true) }
}

unsafe extern "C" fn get_timeout(object: *mut sess_session_object, out: *mut i32) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe {
        get(object, out, |s| {
            i32::try_from(s.timeout()).unwrap_or(i32::MAX)
        })
    }
}

unsafe extern "C" fn put_timeout(object: *mut sess_session_object, minutes: i32) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { act(object, |s| s.set_timeout(minutes.into())) }
}

unsafe extern "C" fn abandon(object: *mut sess_session_object) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe {
        act(object, |s| {
            s.abandon();
            Ok(())
        })
    }
}

unsafe extern "C" fn get_code_page(object: *mut sess_session_object, out: *mut i32) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { get(object, out, |s| s.codepage() as i32) }
}

unsafe extern "C" fn put_code_page(object: *mut sess_session_object, cp: i32) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { act(object, |s| s.set_codepage(cp as u32)) }
}

unsafe extern "C" fn get_lcid(object: *mut sess_session_object, out: *mut i32) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { get(object, out, |s| s.lcid() as i32) }
}

unsafe extern "C" fn put_lcid(object: *mut sess_session_object, lcid: i32) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { act(object, |s| s.set_lcid(lcid as u32)) }
}

unsafe extern "C" fn get_static_objects(
    object: *mut sess_session_object,
    out: *mut *mut sess_variant_dictionary,
) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { get_collection(object, out, Collection::StaticObjects) }
}

unsafe extern "C" fn get_contents(
    object: *mut sess_session_object,
    out: *mut *mut sess_variant_dictionary,
) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { get_collection(object, out, Collection::Contents) }
}

/// get_static_objects / get_contents: `*out` receives a new dictionary
/// object over `which` (the caller's reference). The object's state is
/// checked before `out`: a NULL `out` releases the new object.
///
/// # Safety
/// `object` NULL or a live Session object; `out` NULL or writable.
unsafe fn get_collection(
    object: *mut sess_session_object,
    out: *mut *mut sess_variant_dictionary,
    which: Collection,
) -> sess_result {
    boundary(|| {
        // SAFETY: per the caller.
        let d = unsafe { collection(object, which) }?;
        if out.is_null() {
            // SAFETY: the one reference of a new object.
            unsafe { release::<sess_variant_dictionary, dictionary::Dictionary>(d) };
            return Err(null("out"));
        }
        // SAFETY: writable per the caller.
        unsafe { out.write(d) };
        Ok(err::S_OK)
    })
}
