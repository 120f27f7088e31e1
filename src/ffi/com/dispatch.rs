//! Late binding: IDispatch's `get_ids_of_names` / `invoke`, shaped for C
//! (UTF-8 names, `sess_variant` arguments, the error detail in the thread's
//! last error instead of an EXCEPINFO).

use std::ffi::c_char;

use super::super::variant::{check_clearable, sess_variant, store};
use super::super::{boundary, null, put, sess_result, text};
use super::args::read_ind;
use crate::error::{self as err, Error, Result};
use crate::locale::check_lcid;
use crate::variant::{change_type, vt, Variant};

/// DISPID of an object's default member (`Session("x")`, `Contents(1)`).
pub const DISPID_VALUE: i32 = 0;
/// DISPID `get_ids_of_names` gives a name it does not know.
pub const DISPID_UNKNOWN: i32 = -1;
/// The named argument that marks the value of a property put.
pub const DISPID_PROPERTYPUT: i32 = -3;
/// DISPID of `_NewEnum`, the enumerator For Each asks for.
pub const DISPID_NEWENUM: i32 = -4;

/// `invoke` flag: call a method.
pub const DISPATCH_METHOD: u16 = 1;
/// `invoke` flag: read a property.
pub const DISPATCH_PROPERTYGET: u16 = 2;
/// `invoke` flag: write a property (by value).
pub const DISPATCH_PROPERTYPUT: u16 = 4;
/// `invoke` flag: write a property by reference (VBScript's `Set`).
pub const DISPATCH_PROPERTYPUTREF: u16 = 8;

/// The arguments of an `invoke` call: COM's DISPPARAMS, with `sess_variant`s.
///
/// `args` holds `arg_count` initialised variants in **reverse** order (the
/// last argument first), as COM passes them; the library only reads them.
/// An argument may be by reference (`SESS_VT_BYREF | t`, `v.byref`
/// pointing at the value, as a script passes its variables): it is read
/// through the pointer (NULL: `SESS_E_POINTER`; to a by-reference
/// variant: `SESS_E_INVALIDARG`).
/// VBScript's Nothing (`SESS_VT_DISPATCH` / `SESS_VT_UNKNOWN` holding
/// NULL, as `Set Session("x") = Nothing` passes) is `SESS_E_POINTER`: a
/// session holds live objects only (to drop an item, Remove it).
/// `named_args` holds `named_count` DISPIDs naming the first `named_count`
/// entries of `args`: a property put (`SESS_DISPATCH_PROPERTYPUT` /
/// `_PROPERTYPUTREF`) passes the new value as `args[0]` named
/// `SESS_DISPID_PROPERTYPUT` (`named_count` 1); other calls take no named
/// arguments. Either array may be NULL when its count is 0.
///
/// Example: `Session("x") = 5` is `invoke(SESS_DISPID_VALUE,
/// SESS_DISPATCH_PROPERTYPUT)` with `args = {5, "x"}`, `arg_count` 2,
/// `named_args = {SESS_DISPID_PROPERTYPUT}`, `named_count` 1.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct sess_dispparams {
    /// The arguments, last first (`rgvarg`).
    pub args: *const sess_variant,
    /// DISPIDs of the named arguments (`rgdispidNamedArgs`).
    pub named_args: *const i32,
    /// Number of entries in `args` (`cArgs`).
    pub arg_count: u32,
    /// Number of entries in `named_args` (`cNamedArgs`).
    pub named_count: u32,
}

/// Any of this library's objects callable by name (the Session and
/// dictionary objects), as a late-bound host sees it after
/// QueryInterface for `SESS_IID_IDISPATCH`: the first seven vtable entries,
/// which every such object shares.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct sess_dispatch {
    /// The object's IDispatch-shaped methods.
    pub vtbl: *const sess_dispatch_vtbl,
}

/// IDispatch's vtable shape: IUnknown's three entries, then
/// get_type_info_count, get_type_info, get_ids_of_names and invoke, as the
/// object vtables (sess_session_object_vtbl, sess_variant_dictionary_vtbl)
/// document them.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct sess_dispatch_vtbl {
    /// IUnknown::QueryInterface.
    pub query_interface: unsafe extern "C" fn(
        object: *mut sess_dispatch,
        iid: *const crate::variant::Guid,
        out: *mut *mut std::ffi::c_void,
    ) -> sess_result,
    /// IUnknown::AddRef.
    pub add_ref: unsafe extern "C" fn(object: *mut sess_dispatch) -> u32,
    /// IUnknown::Release.
    pub release: unsafe extern "C" fn(object: *mut sess_dispatch) -> u32,
    /// IDispatch::GetTypeInfoCount (always 0).
    pub get_type_info_count:
        unsafe extern "C" fn(object: *mut sess_dispatch, out: *mut u32) -> sess_result,
    /// IDispatch::GetTypeInfo (none: `SESS_DISP_E_BADINDEX`).
    pub get_type_info: unsafe extern "C" fn(
        object: *mut sess_dispatch,
        index: u32,
        lcid: u32,
        out: *mut *mut std::ffi::c_void,
    ) -> sess_result,
    /// IDispatch::GetIDsOfNames, with UTF-8 names.
    pub get_ids_of_names: unsafe extern "C" fn(
        object: *mut sess_dispatch,
        names: *const *const c_char,
        count: u32,
        lcid: u32,
        dispids: *mut i32,
    ) -> sess_result,
    /// IDispatch::Invoke, with `sess_dispparams`.
    pub invoke: unsafe extern "C" fn(
        object: *mut sess_dispatch,
        dispid: i32,
        lcid: u32,
        flags: u16,
        params: *const sess_dispparams,
        result: *mut sess_variant,
        arg_err: *mut u32,
    ) -> sess_result,
}

/// Most arguments an `invoke` takes (the members take at most two: a
/// larger count is a count no member takes, `DISP_E_BADPARAMCOUNT`, refused
/// before reading).
const MAX_ARGS: u32 = 64;

/// A member of a late-bound object: its name (matched case-insensitively)
/// and DISPID.
pub(crate) struct Member {
    pub name: &'static str,
    pub id: i32,
}

/// GetIDsOfNames: `names[0]` is a member name, any further names are
/// parameter names (this library takes none). Unknown names get
/// `SESS_DISPID_UNKNOWN` and `SESS_DISP_E_UNKNOWNNAME`.
///
/// # Safety
/// `names` NULL or `count` readable pointers (each NULL or NUL-terminated);
/// `out` NULL or writable for `count` DISPIDs.
pub(crate) unsafe fn ids_of_names(
    members: &[Member],
    names: *const *const c_char,
    count: u32,
    out: *mut i32,
) -> Result<sess_result> {
    if names.is_null() {
        return Err(null("names"));
    }
    if out.is_null() {
        return Err(null("dispids"));
    }
    if count == 0 || count > MAX_ARGS + 1 {
        return Err(Error::new(
            err::E_INVALIDARG,
            format!("count {count}: give the member's name and at most {MAX_ARGS} parameter names"),
        ));
    }
    let count = count as usize;
    // SAFETY: readable for count pointers per the caller.
    let names = unsafe { std::slice::from_raw_parts(names, count) };
    let mut ids = vec![DISPID_UNKNOWN; count];
    // SAFETY: NULL or NUL-terminated per the caller.
    let name = unsafe { text(names[0], "names[0]") }?;
    let found = members.iter().find(|m| m.name.eq_ignore_ascii_case(name));
    if let Some(m) = found {
        ids[0] = m.id;
    }
    // SAFETY: writable for count DISPIDs per the caller.
    unsafe { std::ptr::copy_nonoverlapping(ids.as_ptr(), out, count) };
    match found {
        None => Err(Error::new(
            err::DISP_E_UNKNOWNNAME,
            format!("{name:?} is not a member of this object"),
        )),
        Some(_) if count > 1 => Err(Error::new(
            err::DISP_E_UNKNOWNNAME,
            format!("{name:?} takes no named arguments"),
        )),
        Some(_) => Ok(err::S_OK),
    }
}

/// A Contents or StaticObjects key as ASP takes it: a name, or a number
/// counted from 1.
#[derive(Debug, PartialEq)]
pub(crate) enum Key {
    /// The item's name (any case).
    Name(String),
    /// The item's 0-based position (the call said `position + 1`).
    Index(usize),
}

impl Key {
    /// The key a variant names: a string is a name (one holding a NUL is
    /// `E_INVALIDARG`, as no C call could name it), a number a 1-based
    /// index (below 1, or beyond a 64-bit integer: `DISP_E_BADINDEX`);
    /// anything else is `DISP_E_TYPEMISMATCH`.
    pub(crate) fn of(v: &Variant) -> Result<Key> {
        if let Some(s) = v.as_str() {
            if s.contains('\0') {
                return Err(Error::new(
                    err::E_INVALIDARG,
                    "a name holds no NUL: the C calls take NUL-terminated names",
                ));
            }
            return Ok(Key::Name(s.to_owned()));
        }
        let numeric = matches!(
            v.vt(),
            vt::I1 | vt::I2 | vt::I4 | vt::I8 | vt::UI1 | vt::UI2 | vt::UI4 | vt::UI8
        ) || matches!(v.vt(), vt::R4 | vt::R8 | vt::CY);
        if !numeric {
            return Err(Error::new(
                err::DISP_E_TYPEMISMATCH,
                format!(
                    "a key is a name (string) or a 1-based index (number), not VT {}",
                    v.vt()
                ),
            ));
        }
        // Number to number: the locale plays no part. One no 64-bit
        // integer holds (or NaN) indexes no collection.
        let Ok(Variant::I8(n)) = change_type(v, 0, 0, vt::I8) else {
            return Err(Error::new(
                err::DISP_E_BADINDEX,
                format!("index {v:?}: indexes run from 1 to the collection's count"),
            ));
        };
        match usize::try_from(n) {
            Ok(i) if i >= 1 => Ok(Key::Index(i - 1)),
            _ => Err(Error::new(
                err::DISP_E_BADINDEX,
                format!("index {n}: collection indexes start at 1 (as in ASP)"),
            )),
        }
    }
}

/// One `invoke` call, its arguments read into Rust values in their natural
/// order.
pub(crate) struct Call {
    flags: u16,
    args: Vec<Variant>,
    value: Option<Variant>,
    /// `args` as the caller counted them (for `*arg_err`).
    arg_count: u32,
    /// The `args` index of an argument that failed, for `*arg_err`.
    bad_arg: Option<u32>,
}

impl Call {
    /// Reads and checks `flags` and `params`.
    ///
    /// # Safety
    /// `params` NULL or valid as `sess_dispparams` documents.
    unsafe fn read(
        flags: u16,
        params: *const sess_dispparams,
        bad_arg: &mut Option<u32>,
    ) -> Result<Call> {
        let all =
            DISPATCH_METHOD | DISPATCH_PROPERTYGET | DISPATCH_PROPERTYPUT | DISPATCH_PROPERTYPUTREF;
        let puts = DISPATCH_PROPERTYPUT | DISPATCH_PROPERTYPUTREF;
        if flags == 0 {
            // ITypeInfo::Invoke binds a member by `flags & invkind`.
            return Err(Error::new(
                err::DISP_E_MEMBERNOTFOUND,
                "invoke flags 0 name no kind of call: no member matches",
            ));
        }
        if flags & !all != 0 || (flags & puts != 0 && flags & !puts != 0) {
            return Err(Error::new(
                err::E_INVALIDARG,
                format!("invoke flags {flags:#x}: a put, or method and/or get"),
            ));
        }
        let mut call = Call {
            flags,
            args: Vec::new(),
            value: None,
            arg_count: 0,
            bad_arg: None,
        };
        // SAFETY: per the caller.
        let Some(p) = (unsafe { params.as_ref() }) else {
            return if call.is_put() {
                Err(Error::new(
                    err::DISP_E_PARAMNOTFOUND,
                    "a property put needs its value (params is NULL)",
                ))
            } else {
                Ok(call)
            };
        };
        call.arg_count = p.arg_count;
        if p.arg_count > 0 && p.args.is_null() {
            return Err(null("params->args"));
        }
        if p.named_count > 0 && p.named_args.is_null() {
            return Err(null("params->named_args"));
        }
        if p.arg_count > MAX_ARGS {
            return Err(Error::new(
                err::DISP_E_BADPARAMCOUNT,
                format!(
                    "params->arg_count {}: no member takes more than {MAX_ARGS} arguments",
                    p.arg_count
                ),
            ));
        }
        if p.named_count > p.arg_count {
            return Err(Error::new(
                err::E_INVALIDARG,
                "params->named_count exceeds params->arg_count",
            ));
        }
        // SAFETY: readable for named_count DISPIDs per the caller.
        let named = unsafe { slice(p.named_args, p.named_count) };
        let positional = if call.is_put() {
            if named != [DISPID_PROPERTYPUT] {
                return Err(Error::new(
                    err::DISP_E_PARAMNOTFOUND,
                    "a property put passes its value as args[0], named SESS_DISPID_PROPERTYPUT",
                ));
            }
            1
        } else if !named.is_empty() {
            return Err(Error::new(
                err::DISP_E_NONAMEDARGS,
                "this library's members take no named arguments",
            ));
        } else {
            0
        };
        // SAFETY: readable for arg_count initialised variants per the caller.
        let raw = unsafe { slice(p.args, p.arg_count) };
        let mut read_at = |i: usize| {
            // SAFETY: initialised per the caller.
            unsafe { read_ind(&raw[i]) }.inspect_err(|_| *bad_arg = Some(i as u32))
        };
        let mut args = Vec::with_capacity(raw.len());
        for i in (positional..raw.len()).rev() {
            let arg = read_at(i)?;
            // No member has optional parameters.
            if arg == Variant::Error(err::DISP_E_PARAMNOTFOUND) {
                *bad_arg = Some(i as u32);
                return Err(Error::new(
                    err::DISP_E_PARAMNOTOPTIONAL,
                    format!("args[{i}] is omitted (VT_ERROR DISP_E_PARAMNOTFOUND): it is required"),
                ));
            }
            args.push(arg);
        }
        let value = if positional == 1 {
            Some(read_at(0)?)
        } else {
            None
        };
        call.args = args;
        call.value = value;
        Ok(call)
    }

    fn is_put(&self) -> bool {
        self.flags & (DISPATCH_PROPERTYPUT | DISPATCH_PROPERTYPUTREF) != 0
    }

    fn wrong_kind(&self, name: &str, what: &str) -> Error {
        Error::new(
            err::DISP_E_MEMBERNOTFOUND,
            format!("{name} {what} (invoke flags {:#x})", self.flags),
        )
    }

    fn count(&self, name: &str, n: usize) -> Result<()> {
        if self.args.len() != n {
            return Err(Error::new(
                err::DISP_E_BADPARAMCOUNT,
                format!("{name} takes {n} argument(s), not {}", self.args.len()),
            ));
        }
        Ok(())
    }

    /// Whether this is a property get (`SESS_DISPATCH_PROPERTYGET`).
    pub(crate) fn is_get(&self) -> bool {
        self.flags & DISPATCH_PROPERTYGET != 0
    }

    /// Checks this is a get of a read-only property with `n` arguments.
    pub(crate) fn getter(&self, name: &str, n: usize) -> Result<()> {
        if !self.is_get() {
            return Err(self.wrong_kind(name, "is a read-only property"));
        }
        self.count(name, n)
    }

    /// Checks this is a get or a method call with `n` arguments (what For
    /// Each sends for `_NewEnum`).
    pub(crate) fn get_or_method(&self, name: &str, n: usize) -> Result<()> {
        if self.flags & (DISPATCH_PROPERTYGET | DISPATCH_METHOD) == 0 {
            return Err(self.wrong_kind(name, "is read-only"));
        }
        self.count(name, n)
    }

    /// Whether the call has positional arguments.
    pub(crate) fn has_args(&self) -> bool {
        !self.args.is_empty()
    }

    /// A put's value converted to `target` under `lcid`; a failure names
    /// it (`args[0]`) in `*arg_err`. An LCID the library does not know is
    /// the call's failure, not the value's, and only where it is needed
    /// (IDispatch::Invoke's rule): text is `DISP_E_UNKNOWNLCID`, naming no
    /// argument; other values convert without a locale.
    pub(crate) fn value_as(&mut self, value: &Variant, lcid: u32, target: u16) -> Result<Variant> {
        let lcid = match check_lcid(lcid) {
            Ok(lcid) => lcid,
            Err(_) if value.as_str().is_some() => {
                return Err(Error::new(
                    err::DISP_E_UNKNOWNLCID,
                    format!(
                        "invoke's LCID {lcid} ({lcid:#06x}) is not a locale Windows defines: \
                         the text value cannot be read under it"
                    ),
                ))
            }
            // Numbers, dates and booleans convert the same under any locale.
            Err(_) => 0,
        };
        change_type(value, lcid, 0, target).inspect_err(|_| self.bad_arg = Some(0))
    }

    /// Checks this is a method call with `n` arguments.
    pub(crate) fn method(&self, name: &str, n: usize) -> Result<()> {
        if self.flags & DISPATCH_METHOD == 0 {
            return Err(self.wrong_kind(name, "is a method"));
        }
        self.count(name, n)
    }

    /// For a put of a property with `n` index arguments: the new value
    /// (`None` for a get, after checking the get has `n` arguments too).
    /// `by_ref` allows `SESS_DISPATCH_PROPERTYPUTREF` (objects only).
    pub(crate) fn property(
        &mut self,
        name: &str,
        n: usize,
        by_ref: bool,
    ) -> Result<Option<Variant>> {
        if !self.is_put() {
            if !self.is_get() {
                return Err(self.wrong_kind(name, "is a property"));
            }
            self.count(name, n)?;
            return Ok(None);
        }
        let only_ref = self.flags & DISPATCH_PROPERTYPUT == 0;
        if only_ref && !by_ref {
            return Err(self.wrong_kind(name, "takes no object reference (putref)"));
        }
        self.count(name, n)?;
        let value = self.value.take().expect("a put carries its value");
        if only_ref {
            if let Err(e) = putref_object(name, &value) {
                self.bad_arg = Some(0);
                return Err(e);
            }
        }
        Ok(Some(value))
    }

    /// Runs `f` on argument `i`; a failure names that argument in
    /// `*arg_err`.
    pub(crate) fn with_arg<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&Variant) -> Result<R>,
    ) -> Result<R> {
        let r = f(&self.args[i]);
        if r.is_err() {
            self.name_arg(i);
        }
        r
    }

    /// Runs `f`, which looks up or changes an item by the key in argument
    /// `i`: a failure that is the key's (a bad index or name) names it in
    /// `*arg_err`; others (a value refused, a read-only collection) name
    /// none.
    pub(crate) fn by_key<R>(&mut self, i: usize, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let r = f();
        if let Err(e) = &r {
            if matches!(e.code(), err::DISP_E_BADINDEX | err::E_BAD_KEY) {
                self.name_arg(i);
            }
        }
        r
    }

    /// Names argument `i` (natural order) in `*arg_err`.
    fn name_arg(&mut self, i: usize) {
        // Natural order i is args[arg_count - 1 - i] (a put's value,
        // args[0], is not among them).
        self.bad_arg = Some(self.arg_count - 1 - i as u32);
    }
}

/// The value of a putref (VBScript's `Set`) of `name`: an object
/// (`VT_UNKNOWN` / `VT_DISPATCH`), else `DISP_E_TYPEMISMATCH` (an array
/// too, even one holding objects).
pub(crate) fn putref_object(name: &str, value: &Variant) -> Result<()> {
    if matches!(value, Variant::Dispatch(_) | Variant::Unknown(_)) {
        return Ok(());
    }
    Err(Error::new(
        err::DISP_E_TYPEMISMATCH,
        format!("{name}: a putref (Set) takes an object (VT_UNKNOWN or VT_DISPATCH)"),
    ))
}

/// `DISP_E_MEMBERNOTFOUND` for a DISPID the object does not have.
pub(crate) fn member_not_found(dispid: i32) -> Error {
    Error::new(
        err::DISP_E_MEMBERNOTFOUND,
        format!("no member with DISPID {dispid}"),
    )
}

/// Runs one `invoke`: reads the arguments, calls `body`, stores its value
/// in `*result` (may be NULL: the value is dropped) and returns its code.
/// A property put ignores `result`, as COM's `pVarResult`. A failing
/// argument's index (in `params->args`) goes to `*arg_err` (may be NULL).
///
/// # Safety
/// `params` as `sess_dispparams` documents; `result` NULL or initialised
/// (or anything, for a put); `arg_err` NULL or writable.
pub(crate) unsafe fn invoke(
    params: *const sess_dispparams,
    flags: u16,
    result: *mut sess_variant,
    arg_err: *mut u32,
    body: impl FnOnce(&mut Call) -> Result<(Variant, sess_result)>,
) -> sess_result {
    let result = if flags & (DISPATCH_PROPERTYPUT | DISPATCH_PROPERTYPUTREF) != 0 {
        std::ptr::null_mut()
    } else {
        result
    };
    boundary(|| {
        if !result.is_null() {
            // Before the member acts: a call that fails changes nothing.
            // SAFETY: initialised per the caller.
            unsafe { check_clearable(&*result) }?;
        }
        let mut bad_arg = None;
        // SAFETY: per the caller.
        let call = unsafe { Call::read(flags, params, &mut bad_arg) };
        let mut call = call.inspect_err(|_| {
            if let Some(i) = bad_arg {
                // SAFETY: NULL or writable per the caller.
                unsafe { put(arg_err, i) };
            }
        })?;
        match body(&mut call) {
            Ok((value, rc)) => {
                if !result.is_null() {
                    // SAFETY: initialised per the caller.
                    unsafe { store(result, value) }?;
                }
                Ok(rc)
            }
            Err(e) => {
                if let Some(i) = call.bad_arg {
                    // SAFETY: NULL or writable per the caller.
                    unsafe { put(arg_err, i) };
                }
                Err(e)
            }
        }
    })
}

/// A slice from a C array that may be NULL when empty.
///
/// # Safety
/// `p` readable for `n` elements when `n > 0`.
unsafe fn slice<'a, T>(p: *const T, n: u32) -> &'a [T] {
    if n == 0 {
        &[]
    } else {
        // SAFETY: per the caller.
        unsafe { std::slice::from_raw_parts(p, n as usize) }
    }
}

/// An object callable by name.
pub(crate) trait Dispatch {
    /// The members `get_ids_of_names` knows.
    const MEMBERS: &'static [Member];
    /// Where the object's calls go.
    fn target(&self) -> &super::Target;
}

/// IDispatch::GetTypeInfoCount: `*out` receives 0 (no type information:
/// names are resolved by `get_ids_of_names`).
///
/// # Safety
/// `p` NULL or a live `Com<H, T>`; `out` NULL or writable.
pub(crate) unsafe extern "C" fn get_type_info_count<H, T: Dispatch>(
    p: *mut H,
    out: *mut u32,
) -> sess_result {
    boundary(|| {
        // SAFETY: per the caller.
        unsafe { super::Com::<H, T>::inner(p) }?.target().check()?;
        // SAFETY: per the caller.
        unsafe { super::super::put_required(out, 0, "out") }?;
        Ok(err::S_OK)
    })
}

/// IDispatch::GetTypeInfo: there is none, so `*out` receives NULL and the
/// result is `SESS_DISP_E_BADINDEX`.
///
/// # Safety
/// `p` NULL or a live `Com<H, T>`; `out` NULL or writable.
pub(crate) unsafe extern "C" fn get_type_info<H, T: Dispatch>(
    p: *mut H,
    index: u32,
    _lcid: u32,
    out: *mut *mut std::ffi::c_void,
) -> sess_result {
    boundary(|| {
        // SAFETY: per the caller.
        unsafe { super::super::put_required(out, std::ptr::null_mut(), "out") }?;
        // SAFETY: per the caller.
        unsafe { super::Com::<H, T>::inner(p) }?.target().check()?;
        Err(Error::new(
            err::DISP_E_BADINDEX,
            format!("type information {index}: this object has none"),
        ))
    })
}

/// IDispatch::GetIDsOfNames over `T::MEMBERS` (see `ids_of_names`).
///
/// # Safety
/// `p` NULL or a live `Com<H, T>`; the rest as `ids_of_names`.
pub(crate) unsafe extern "C" fn get_ids_of_names<H, T: Dispatch>(
    p: *mut H,
    names: *const *const c_char,
    count: u32,
    _lcid: u32,
    out: *mut i32,
) -> sess_result {
    boundary(|| {
        // SAFETY: per the caller.
        unsafe { super::Com::<H, T>::inner(p) }?.target().check()?;
        // SAFETY: per the caller.
        unsafe { ids_of_names(T::MEMBERS, names, count, out) }
    })
}
