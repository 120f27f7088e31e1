//! `sess_variant_dictionary`: ASP's `IVariantDictionary`, the object for
//! `Session.Contents` and `Session.StaticObjects`. Keys are names (any
//! case) or **1-based** indexes, as in ASP.

use std::ffi::{c_char, c_void};

use super::super::variant::sess_variant;
use super::super::{boundary, put_required, sess_result};
use super::args::arg;
use super::dispatch::{
    get_ids_of_names, get_type_info, get_type_info_count, invoke as run, member_not_found,
    putref_object, sess_dispparams, Call, Dispatch, Key, Member, DISPID_NEWENUM, DISPID_VALUE,
};
use super::{add_ref, adopt, enumerator, get_into, new_into, release, Com, Target};
use crate::app::Session;
use crate::error::{self as err, Error, Result};
use crate::variant::{Guid, Unknown, Variant};

/// DISPID of `Key` (the other members: Item `SESS_DISPID_VALUE`, _NewEnum
/// `SESS_DISPID_NEWENUM`).
pub const DISPID_DICTIONARY_KEY: i32 = 1;
/// DISPID of `Count`.
pub const DISPID_DICTIONARY_COUNT: i32 = 2;
/// DISPID of `Remove`.
pub const DISPID_DICTIONARY_REMOVE: i32 = 3;
/// DISPID of `RemoveAll`.
pub const DISPID_DICTIONARY_REMOVEALL: i32 = 4;

/// Which collection a dictionary object shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Collection {
    /// `Session.Contents`: the values.
    Contents,
    /// `Session.StaticObjects`: the declared session-scope objects
    /// (read-only).
    StaticObjects,
}

impl Collection {
    fn readonly(self, what: &str) -> Result<()> {
        match self {
            Collection::Contents => Ok(()),
            Collection::StaticObjects => Err(Error::new(
                err::E_COLLECTION_READONLY,
                format!("StaticObjects.{what}: the application declares its static objects"),
            )),
        }
    }

    /// `DISP_E_BADINDEX` unless item `index` (0-based) exists, told as the
    /// caller counted it, from 1 (the library's own message counts from 0).
    fn check_index(self, s: &Session, index: usize) -> Result<()> {
        let count = match self {
            Collection::Contents => s.count(),
            Collection::StaticObjects => s.static_count(),
        };
        if index < count {
            return Ok(());
        }
        Err(Error::new(
            err::DISP_E_BADINDEX,
            format!(
                "index {} is out of range: indexes run from 1 to the count ({count})",
                index.saturating_add(1)
            ),
        ))
    }

    /// `Item(key)`: the value (a static object as `VT_UNKNOWN`); a missing
    /// name is `VT_EMPTY` and `S_FALSE`, a bad index `DISP_E_BADINDEX`.
    pub(crate) fn item(self, s: &mut Session, key: &Key) -> Result<(Variant, sess_result)> {
        if let Key::Index(i) = key {
            self.check_index(s, *i)?;
        }
        let index = match (self, key) {
            (Collection::Contents, Key::Name(n)) => {
                return Ok(match s.get(n) {
                    Some(v) => (v.clone(), err::S_OK),
                    None => (Variant::Empty, err::S_FALSE),
                });
            }
            (Collection::Contents, Key::Index(i)) => {
                return Ok((s.item_at(*i)?.1.clone(), err::S_OK))
            }
            (Collection::StaticObjects, Key::Name(n)) => match s.static_index(n) {
                Some(i) => i,
                None => return Ok((Variant::Empty, err::S_FALSE)),
            },
            (Collection::StaticObjects, Key::Index(i)) => *i,
        };
        Ok((Variant::Unknown(s.static_object_at(index)?), err::S_OK))
    }

    /// `Item(key) = value`: a name is added or replaced, an index replaced.
    pub(crate) fn set_item(self, s: &mut Session, key: &Key, value: Variant) -> Result<()> {
        self.readonly("Item")?;
        match key {
            Key::Name(n) => s.set(n, value),
            Key::Index(i) => {
                self.check_index(s, *i)?;
                s.set_at(*i, value)
            }
        }
    }

    /// `Key(key)`: the name at an index, or a name's stored spelling
    /// (missing: `VT_EMPTY` and `S_FALSE`).
    fn key(self, s: &Session, key: &Key) -> Result<(Variant, sess_result)> {
        if let Key::Index(i) = key {
            self.check_index(s, *i)?;
        }
        let name = match (self, key) {
            (Collection::Contents, Key::Index(i)) => Some(s.item_at(*i)?.0),
            (Collection::Contents, Key::Name(n)) => s.contents().find(n).map(|(_, k)| k),
            (Collection::StaticObjects, Key::Index(i)) => Some(s.static_key_at(*i)?),
            (Collection::StaticObjects, Key::Name(n)) => match s.static_index(n) {
                Some(i) => Some(s.static_key_at(i)?),
                None => None,
            },
        };
        Ok(match name {
            Some(k) => (Variant::bstr(k), err::S_OK),
            None => (Variant::Empty, err::S_FALSE),
        })
    }

    fn count(self, s: &Session) -> i32 {
        let n = match self {
            Collection::Contents => s.count(),
            Collection::StaticObjects => s.static_count(),
        };
        i32::try_from(n).unwrap_or(i32::MAX)
    }

    /// The keys in order, as For Each sees them.
    fn keys(self, s: &Session) -> Result<Vec<Box<str>>> {
        match self {
            Collection::Contents => Ok(s.contents().iter().map(|(k, _)| k.into()).collect()),
            Collection::StaticObjects => (0..s.static_count())
                .map(|i| s.static_key_at(i).map(Into::into))
                .collect(),
        }
    }

    /// `Remove(key)`: later items move down; a missing name is `S_FALSE`.
    fn remove(self, s: &mut Session, key: &Key) -> Result<sess_result> {
        self.readonly("Remove")?;
        match key {
            Key::Name(n) => Ok(if s.remove(n)? {
                err::S_OK
            } else {
                err::S_FALSE
            }),
            Key::Index(i) => {
                self.check_index(s, *i)?;
                s.remove_at(*i).map(|()| err::S_OK)
            }
        }
    }

    fn remove_all(self, s: &mut Session) -> Result<()> {
        self.readonly("RemoveAll")?;
        s.remove_all()
    }
}

/// The default member (Item) of `which` called late-bound: a get or a put
/// with one key argument. Shared by the dictionary's Item, the Session's
/// Value (`Session("x")`, `Session(1)`) and `Session.Contents("x")`.
pub(crate) fn item_call(
    s: &mut Session,
    which: Collection,
    name: &str,
    call: &mut Call,
) -> Result<(Variant, sess_result)> {
    let value = call.property(name, 1, true)?;
    let key = call.with_arg(0, Key::of)?;
    match value {
        None => call.by_key(0, || which.item(s, &key)),
        Some(v) => {
            call.by_key(0, || which.set_item(s, &key, v))?;
            Ok((Variant::Empty, err::S_OK))
        }
    }
}

/// A dictionary object (C callers call through `vtbl`).
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct sess_variant_dictionary {
    /// The object's methods.
    pub vtbl: *const sess_variant_dictionary_vtbl,
}

/// The methods of a `sess_variant_dictionary`, in `IVariantDictionary`'s
/// vtable order. Each takes the object itself first. Keys are
/// `const sess_variant *`: a string names an item (any case; a string
/// holding a NUL is `SESS_E_INVALIDARG`, as in the C calls' names), a
/// number is a 1-based index (below 1 or past the end:
/// `SESS_DISP_E_BADINDEX`); other types are `SESS_DISP_E_TYPEMISMATCH`.
/// Keys and values may be by reference (`SESS_VT_BYREF`), read through
/// their pointer as invoke's arguments are (see `sess_dispparams`).
/// StaticObjects cannot be changed: its put_item, putref_item, remove and remove_all return
/// `SESS_E_COLLECTION_READONLY`. After the unit of work has ended, every
/// method but the first three returns `SESS_E_OBJECT_DETACHED`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct sess_variant_dictionary_vtbl {
    /// IUnknown: `*out` receives the object AddRef'd for
    /// `SESS_IID_IUNKNOWN`, `SESS_IID_IDISPATCH` and
    /// `SESS_IID_IVARIANTDICTIONARY`; anything else is NULL and
    /// `SESS_E_NOINTERFACE`.
    pub query_interface: unsafe extern "C" fn(
        object: *mut sess_variant_dictionary,
        iid: *const Guid,
        out: *mut *mut c_void,
    ) -> sess_result,
    /// IUnknown: adds a reference; returns the new count.
    pub add_ref: unsafe extern "C" fn(object: *mut sess_variant_dictionary) -> u32,
    /// IUnknown: drops a reference, freeing the object at zero; returns the
    /// new count.
    pub release: unsafe extern "C" fn(object: *mut sess_variant_dictionary) -> u32,
    /// IDispatch: `*out` receives 0 (no type information).
    pub get_type_info_count:
        unsafe extern "C" fn(object: *mut sess_variant_dictionary, out: *mut u32) -> sess_result,
    /// IDispatch: no type information: `*out` NULL, `SESS_DISP_E_BADINDEX`.
    pub get_type_info: unsafe extern "C" fn(
        object: *mut sess_variant_dictionary,
        index: u32,
        lcid: u32,
        out: *mut *mut c_void,
    ) -> sess_result,
    /// IDispatch: the DISPIDs of `count` UTF-8 names (the member, then
    /// parameter names, which no member takes), case-insensitive; an unknown
    /// name gets `SESS_DISPID_UNKNOWN` and `SESS_DISP_E_UNKNOWNNAME`. `lcid`
    /// is ignored.
    pub get_ids_of_names: unsafe extern "C" fn(
        object: *mut sess_variant_dictionary,
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
    /// is ignored (keys are names or numbers). The failure's detail is
    /// this thread's last error. Unknown DISPID, wrong kind of call or
    /// none (`flags` 0): `SESS_DISP_E_MEMBERNOTFOUND`; wrong argument
    /// count:
    /// `SESS_DISP_E_BADPARAMCOUNT`; an argument omitted (`SESS_VT_ERROR`
    /// holding `SESS_DISP_E_PARAMNOTFOUND`): `SESS_DISP_E_PARAMNOTOPTIONAL`.
    pub invoke: unsafe extern "C" fn(
        object: *mut sess_variant_dictionary,
        dispid: i32,
        lcid: u32,
        flags: u16,
        params: *const sess_dispparams,
        result: *mut sess_variant,
        arg_err: *mut u32,
    ) -> sess_result,
    /// Item (get): copies the item's value into `*out` (initialised;
    /// cleared first); a missing name gives `SESS_VT_EMPTY` and
    /// `SESS_S_FALSE`. A static object comes as `SESS_VT_UNKNOWN`, made on
    /// first use.
    pub get_item: unsafe extern "C" fn(
        object: *mut sess_variant_dictionary,
        key: *const sess_variant,
        out: *mut sess_variant,
    ) -> sess_result,
    /// Item (put): stores a copy of `*value` under the name (added last if
    /// new) or at the index. Nothing (an object variant holding NULL) is
    /// `SESS_E_POINTER`: a session holds live objects only (to drop an
    /// item, Remove it).
    pub put_item: unsafe extern "C" fn(
        object: *mut sess_variant_dictionary,
        key: *const sess_variant,
        value: *const sess_variant,
    ) -> sess_result,
    /// Item (putref, VBScript's `Set`): as put_item for an object
    /// (`SESS_VT_UNKNOWN` / `SESS_VT_DISPATCH`); other values are
    /// `SESS_DISP_E_TYPEMISMATCH`.
    pub putref_item: unsafe extern "C" fn(
        object: *mut sess_variant_dictionary,
        key: *const sess_variant,
        value: *const sess_variant,
    ) -> sess_result,
    /// Key: `*out` (initialised; cleared first) receives the name at an
    /// index, or a name's stored spelling (missing: `SESS_VT_EMPTY`,
    /// `SESS_S_FALSE`), as `SESS_VT_BSTR`.
    pub get_key: unsafe extern "C" fn(
        object: *mut sess_variant_dictionary,
        key: *const sess_variant,
        out: *mut sess_variant,
    ) -> sess_result,
    /// Count: the number of items.
    pub get_count:
        unsafe extern "C" fn(object: *mut sess_variant_dictionary, out: *mut i32) -> sess_result,
    /// _NewEnum: `*out` receives a new enumerator (a `sess_enum_variant`,
    /// which answers `SESS_IID_IENUMVARIANT`) over the keys in order, as
    /// For Each sees them. The caller owns the reference.
    pub get_new_enum: unsafe extern "C" fn(
        object: *mut sess_variant_dictionary,
        out: *mut *mut Unknown,
    ) -> sess_result,
    /// Remove: removes the item; later items move down one index. A
    /// missing name is `SESS_S_FALSE`.
    pub remove: unsafe extern "C" fn(
        object: *mut sess_variant_dictionary,
        key: *const sess_variant,
    ) -> sess_result,
    /// RemoveAll: removes every item (the session stays).
    pub remove_all: unsafe extern "C" fn(object: *mut sess_variant_dictionary) -> sess_result,
}

/// A dictionary object's state.
pub(crate) struct Dictionary {
    target: Target,
    which: Collection,
}

type Obj = Com<sess_variant_dictionary, Dictionary>;

impl Dispatch for Dictionary {
    const MEMBERS: &'static [Member] = &[
        Member {
            name: "Item",
            id: DISPID_VALUE,
        },
        Member {
            name: "Key",
            id: DISPID_DICTIONARY_KEY,
        },
        Member {
            name: "Count",
            id: DISPID_DICTIONARY_COUNT,
        },
        Member {
            name: "_NewEnum",
            id: DISPID_NEWENUM,
        },
        Member {
            name: "Remove",
            id: DISPID_DICTIONARY_REMOVE,
        },
        Member {
            name: "RemoveAll",
            id: DISPID_DICTIONARY_REMOVEALL,
        },
    ];

    fn target(&self) -> &Target {
        &self.target
    }
}

static VTBL: sess_variant_dictionary_vtbl = sess_variant_dictionary_vtbl {
    query_interface,
    add_ref: add_ref::<sess_variant_dictionary, Dictionary>,
    release: release::<sess_variant_dictionary, Dictionary>,
    get_type_info_count: get_type_info_count::<sess_variant_dictionary, Dictionary>,
    get_type_info: get_type_info::<sess_variant_dictionary, Dictionary>,
    get_ids_of_names: get_ids_of_names::<sess_variant_dictionary, Dictionary>,
    invoke,
    get_item,
    put_item,
    putref_item,
    get_key,
    get_count,
    get_new_enum,
    remove,
    remove_all,
};

/// A new dictionary object over `which` (one reference, the caller's).
pub(crate) fn create(target: Target, which: Collection) -> *mut sess_variant_dictionary {
    Obj::create(
        sess_variant_dictionary { vtbl: &VTBL },
        Dictionary { target, which },
    )
}

/// Runs `f` on a live dictionary's collection and session.
///
/// # Safety
/// `object` NULL or a live dictionary object.
unsafe fn with<R>(
    object: *mut sess_variant_dictionary,
    f: impl FnOnce(Collection, &mut Session) -> Result<R>,
) -> Result<R> {
    // SAFETY: per the caller.
    let d = unsafe { Obj::inner(object) }?;
    d.target.with(|s| f(d.which, s))
}

/// A key argument.
///
/// # Safety
/// `key` NULL or an initialised variant.
unsafe fn key_arg(key: *const sess_variant) -> Result<Key> {
    // SAFETY: per the caller.
    Key::of(&unsafe { arg(key, "key") }?)
}

unsafe extern "C" fn query_interface(
    object: *mut sess_variant_dictionary,
    iid: *const Guid,
    out: *mut *mut c_void,
) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe {
        super::query_interface::<_, Dictionary>(
            object,
            iid,
            out,
            &super::SESS_IID_IVARIANTDICTIONARY,
            true,
        )
    }
}

unsafe extern "C" fn invoke(
    object: *mut sess_variant_dictionary,
    dispid: i32,
    _lcid: u32,
    flags: u16,
    params: *const sess_dispparams,
    result: *mut sess_variant,
    arg_err: *mut u32,
) -> sess_result {
    let body = |call: &mut Call| {
        // SAFETY: the caller's contract.
        let d = unsafe { Obj::inner(object) }?;
        let (which, target) = (d.which, &d.target);
        target.with(|s| match dispid {
            DISPID_VALUE => item_call(s, which, "Item", call),
            DISPID_DICTIONARY_KEY => {
                call.getter("Key", 1)?;
                let key = call.with_arg(0, Key::of)?;
                call.by_key(0, || which.key(s, &key))
            }
            DISPID_DICTIONARY_COUNT => {
                call.getter("Count", 0)?;
                Ok((Variant::I4(which.count(s)), err::S_OK))
            }
            DISPID_NEWENUM => {
                call.get_or_method("_NewEnum", 0)?;
                let e = enumerator::create(target.clone(), which.keys(s)?);
                // SAFETY: a new object; its reference moves into the value.
                Ok((Variant::Unknown(unsafe { adopt(e) }?), err::S_OK))
            }
            DISPID_DICTIONARY_REMOVE => {
                call.method("Remove", 1)?;
                let key = call.with_arg(0, Key::of)?;
                let rc = call.by_key(0, || which.remove(s, &key))?;
                Ok((Variant::Empty, rc))
            }
            DISPID_DICTIONARY_REMOVEALL => {
                call.method("RemoveAll", 0)?;
                which.remove_all(s)?;
                Ok((Variant::Empty, err::S_OK))
            }
            _ => Err(member_not_found(dispid)),
        })
    };
    // SAFETY: the caller's contract.
    unsafe { run(params, flags, result, arg_err, body) }
}

unsafe extern "C" fn get_item(
    object: *mut sess_variant_dictionary,
    key: *const sess_variant,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_arg(key) }?;
        // SAFETY: the caller's contract (`out` and `object`).
        unsafe { get_into(out, || with(object, |which, s| which.item(s, &key))) }
    })
}

/// put_item / putref_item.
///
/// # Safety
/// The caller's contract for those.
unsafe fn put(
    object: *mut sess_variant_dictionary,
    key: *const sess_variant,
    value: *const sess_variant,
    by_ref: bool,
) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_arg(key) }?;
        // SAFETY: the caller's contract.
        let value = unsafe { arg(value, "value") }?;
        if by_ref {
            putref_object("Item", &value)?;
        }
        // SAFETY: the caller's contract.
        unsafe { with(object, |which, s| which.set_item(s, &key, value)) }?;
        Ok(err::S_OK)
    })
}

unsafe extern "C" fn put_item(
    object: *mut sess_variant_dictionary,
    key: *const sess_variant,
    value: *const sess_variant,
) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { put(object, key, value, false) }
}

unsafe extern "C" fn putref_item(
    object: *mut sess_variant_dictionary,
    key: *const sess_variant,
    value: *const sess_variant,
) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe { put(object, key, value, true) }
}

unsafe extern "C" fn get_key(
    object: *mut sess_variant_dictionary,
    key: *const sess_variant,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_arg(key) }?;
        // SAFETY: the caller's contract (`out` and `object`).
        unsafe { get_into(out, || with(object, |which, s| which.key(s, &key))) }
    })
}

unsafe extern "C" fn get_count(object: *mut sess_variant_dictionary, out: *mut i32) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let n = unsafe { with(object, |which, s| Ok(which.count(s))) }?;
        // SAFETY: NULL or writable.
        unsafe { put_required(out, n, "out") }?;
        Ok(err::S_OK)
    })
}

unsafe extern "C" fn get_new_enum(
    object: *mut sess_variant_dictionary,
    out: *mut *mut Unknown,
) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract (`out` and `object`).
        unsafe {
            new_into(out, || {
                let d = Obj::inner(object)?;
                let keys = d.target.with(|s| d.which.keys(s))?;
                Ok(enumerator::create(d.target.clone(), keys).cast())
            })
        }
    })
}

unsafe extern "C" fn remove(
    object: *mut sess_variant_dictionary,
    key: *const sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_arg(key) }?;
        // SAFETY: the caller's contract.
        unsafe { with(object, |which, s| which.remove(s, &key)) }
    })
}

unsafe extern "C" fn remove_all(object: *mut sess_variant_dictionary) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        unsafe { with(object, |which, s| which.remove_all(s)) }?;
        Ok(err::S_OK)
    })
}
