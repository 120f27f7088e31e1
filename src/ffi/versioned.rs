//! Reading the caller's versioned structs (`struct_size` first), by one rule
//! for all of them (stated in the header's preamble):
//! - `struct_size` must be the size of one version of the struct: this
//!   library's, or an older one (whose later fields then keep their
//!   defaults); anything smaller or in between is refused;
//! - a larger `struct_size` (a newer header's) is accepted only if every
//!   byte past this library's struct is zero, and only up to
//!   [`MAX_GROWTH`] bytes more: a garbage size must not make the library
//!   read far past the caller's struct.
//!
//! Only `struct_size` is read before it is checked; nothing ever refers to
//! the caller's struct as a whole.

use crate::error::{self as err, Error, Result};

/// A C `bool` field of a struct the caller fills (`bool` in the header):
/// a byte, any value of which is valid, non-zero meaning true. A Rust
/// `bool` would make any byte but 0 and 1 undefined behaviour, and a C
/// caller's struct may hold one (filled by `memset`, by another language's
/// binding, or left as garbage).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CBool(u8);

impl CBool {
    /// Whether the byte is non-zero.
    pub const fn get(self) -> bool {
        self.0 != 0
    }
}

impl From<bool> for CBool {
    fn from(b: bool) -> CBool {
        CBool(b.into())
    }
}

/// How many bytes a newer header's struct may add to this library's.
pub(crate) const MAX_GROWTH: usize = 256;

/// A C struct versioned by its first field, `struct_size: u32`.
///
/// # Safety
/// `Self` is `#[repr(C)]`, begins with `struct_size: u32`, and every field
/// accepts any bytes a C caller can store in it (callbacks are `Option`s,
/// so NULL is valid; `bool`s are [`CBool`]s).
pub(crate) unsafe trait Versioned: Copy {
    /// The C name, for messages.
    const NAME: &'static str;
    /// The `struct_size` of each version, oldest first; the last is
    /// `size_of::<Self>()`.
    const VERSIONS: &'static [usize];
    /// Every field's default, with `struct_size` set to this version's.
    fn defaults() -> Self;
}

/// The caller's struct at `p` (`E_POINTER` if NULL), with the fields an
/// older version lacks at their defaults; a bad `struct_size` is
/// `E_INVALID_OPTION` naming `what`.
///
/// # Safety
/// `p` must be NULL or readable for its `struct_size` bytes (as far as the
/// rule lets the library read).
pub(crate) unsafe fn read<T: Versioned>(p: *const T, what: &str) -> Result<T> {
    if p.is_null() {
        return Err(super::null(what));
    }
    // SAFETY: the first field is readable per the caller.
    let size = unsafe { p.cast::<u32>().read_unaligned() } as usize;
    let known = std::mem::size_of::<T>();
    check_size::<T>(size, &format!("{what}->struct_size"))?;
    if size > known {
        // SAFETY: readable for `size` bytes per the caller; size is capped.
        let tail = unsafe { std::slice::from_raw_parts(p.cast::<u8>().add(known), size - known) };
        if tail.iter().any(|&b| b != 0) {
            return Err(Error::new(
                err::E_INVALID_OPTION,
                format!(
                    "{what}->struct_size is {size}: it sets fields this libsess's {} does not know",
                    T::NAME
                ),
            ));
        }
    }
    let mut v = T::defaults();
    // SAFETY: the caller's struct is readable for min(size, known) bytes,
    // ours writable for as many; every field accepts the caller's bytes
    // (the trait's contract); a version's size ends on a field boundary.
    unsafe {
        std::ptr::copy_nonoverlapping(
            p.cast::<u8>(),
            (&mut v as *mut T).cast::<u8>(),
            size.min(known),
        )
    };
    // SAFETY: struct_size is the first field, a u32.
    unsafe { (&mut v as *mut T).cast::<u32>().write(known as u32) };
    Ok(v)
}

/// Checks a caller's size of `T` (`what` names it): one version's size,
/// or larger by at most [`MAX_GROWTH`] bytes (a newer header's).
fn check_size<T: Versioned>(size: usize, what: &str) -> Result<()> {
    let known = std::mem::size_of::<T>();
    debug_assert_eq!(T::VERSIONS.last(), Some(&known));
    let why = if size > known + MAX_GROWTH {
        format!(
            "more than {MAX_GROWTH} bytes past this libsess's {known}-byte {}",
            T::NAME
        )
    } else if size < known && !T::VERSIONS.contains(&size) {
        format!(
            "no version of {} has that size (this libsess knows {:?})",
            T::NAME,
            T::VERSIONS
        )
    } else {
        return Ok(());
    };
    Err(Error::new(
        err::E_INVALID_OPTION,
        format!("{what} is {size}: {why}"),
    ))
}

/// As [`read`], with NULL meaning every default.
///
/// # Safety
/// As [`read`].
pub(crate) unsafe fn read_or_default<T: Versioned>(p: *const T, what: &str) -> Result<T> {
    if p.is_null() {
        return Ok(T::defaults());
    }
    // SAFETY: forwarded to the caller.
    unsafe { read(p, what) }
}

/// A `*_init` export's body: fills the caller's `*p` with every default
/// and this library's `struct_size` (NULL: `E_POINTER` naming `what`).
///
/// # Safety
/// `p` NULL or writable.
pub(crate) unsafe fn init<T: Versioned>(p: *mut T, what: &str) -> super::sess_result {
    super::boundary(|| {
        // SAFETY: NULL or writable per the caller.
        unsafe { super::put_required(p, T::defaults(), what) }?;
        Ok(err::S_OK)
    })
}

/// A `*_init_sized` export's body: fills the caller's `size`-byte struct
/// (the size its header declares) with every default and `struct_size =
/// size`, writing no byte past it: an older header's struct gets the
/// fields it has, a newer header's the fields this library knows and zeros
/// after them. A size no version has is `E_INVALID_OPTION`, nothing
/// written; NULL is `E_POINTER`.
///
/// # Safety
/// `p` NULL or writable for `size` bytes.
pub(crate) unsafe fn init_sized<T: Versioned>(
    p: *mut T,
    size: usize,
    what: &str,
) -> super::sess_result {
    super::boundary(|| {
        super::require(p, what)?;
        check_size::<T>(size, "size")?;
        let known = std::mem::size_of::<T>();
        let defaults = T::defaults();
        let out = p.cast::<u8>();
        // SAFETY: `out` is writable for `size` bytes per the caller; the
        // defaults are readable for `known`; a version's size ends on a
        // field boundary.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&defaults as *const T).cast::<u8>(),
                out,
                size.min(known),
            );
            if size > known {
                std::ptr::write_bytes(out.add(known), 0, size - known);
            }
            // `size` is checked: at most `known + MAX_GROWTH`.
            out.cast::<u32>().write_unaligned(size as u32);
        }
        Ok(err::S_OK)
    })
}

/// Runs `f` on a C caller's `T` (at its defaults) whose byte at `offset`
/// is `byte`, as C may store it: a `bool` field holding 2, say (memset,
/// another language's binding). `f` gets the struct's address, as an
/// export does.
#[cfg(test)]
pub(crate) fn with_byte<T: Versioned, R>(
    offset: usize,
    byte: u8,
    f: impl FnOnce(*const T) -> R,
) -> R {
    assert!(offset < std::mem::size_of::<T>());
    let mut c = std::mem::MaybeUninit::new(T::defaults());
    // SAFETY: `offset` is inside the struct; only bytes are written.
    unsafe { c.as_mut_ptr().cast::<u8>().add(offset).write(byte) };
    f(c.as_ptr())
}

/// Tests every versioned type the same way: too small, each older version,
/// larger with a zero or a non-zero tail, and garbage sizes.
#[cfg(test)]
pub(crate) fn check_the_rule<T: Versioned>() {
    #[repr(C)]
    struct Padded<T> {
        v: T,
        tail: [u8; MAX_GROWTH + 64],
    }
    let read_sized = |size: usize, tail_byte: u8| {
        let mut p = Padded {
            v: T::defaults(),
            tail: [0; MAX_GROWTH + 64],
        };
        if tail_byte != 0 {
            p.tail[size.saturating_sub(std::mem::size_of::<T>()).max(1) - 1] = tail_byte;
        }
        // SAFETY: struct_size is the first field, a u32.
        unsafe { (&mut p.v as *mut T).cast::<u32>().write(size as u32) };
        // SAFETY: `p` is readable for every size tried here; the pointer is
        // to all of it, as a C caller's is (a reference to `p.v` alone
        // may not read past it).
        unsafe { read((&raw const p).cast::<T>(), "opts") }
            .map(|_| ())
            .map_err(|e| e.code())
    };
    let known = std::mem::size_of::<T>();
    let name = T::NAME;
    for size in [0, 3, 4, T::VERSIONS[0] - 1] {
        assert_eq!(
            read_sized(size, 0),
            Err(err::E_INVALID_OPTION),
            "{name}: {size}"
        );
    }
    if T::VERSIONS.len() > 1 {
        let between = T::VERSIONS[0] + 1;
        assert_eq!(
            read_sized(between, 0),
            Err(err::E_INVALID_OPTION),
            "{name}: {between}"
        );
    }
    for &size in T::VERSIONS {
        assert_eq!(
            read_sized(size, 0),
            Ok(()),
            "{name}: version of {size} bytes"
        );
    }
    assert_eq!(
        read_sized(known + 8, 0),
        Ok(()),
        "{name}: larger, zero tail"
    );
    assert_eq!(
        read_sized(known + 8, 1),
        Err(err::E_INVALID_OPTION),
        "{name}: non-zero tail"
    );
    for garbage in [known + MAX_GROWTH + 1, 0x7FFF_FFFF, u32::MAX as usize] {
        assert_eq!(
            read_sized(garbage, 0),
            Err(err::E_INVALID_OPTION),
            "{name}: {garbage}"
        );
    }
    // SAFETY: NULL is refused before anything is read.
    assert_eq!(
        unsafe { read::<T>(std::ptr::null(), "opts") }
            .err()
            .map(|e| e.code()),
        Some(err::E_POINTER)
    );
    check_init_sized::<T>();
}

/// `init_sized` writes exactly the caller's bytes (its struct_size, then
/// the defaults, zeros past what this library knows), which read back; a
/// size no version has writes nothing.
#[cfg(test)]
fn check_init_sized<T: Versioned>() {
    const CANARY: u8 = 0xA5;
    // Aligned for T, with room for the largest size tried.
    #[repr(C)]
    struct Buf<T> {
        v: std::mem::MaybeUninit<T>,
        tail: [u8; MAX_GROWTH + 64],
    }
    let known = std::mem::size_of::<T>();
    let total = std::mem::size_of::<Buf<T>>();
    let name = T::NAME;
    // Runs init_sized(size) over canaries. Only bytes known to be
    // initialised are read (padding copied from the defaults is not).
    let init = |size: usize, check: &dyn Fn(*const u8)| {
        let mut buf = Buf::<T> {
            v: std::mem::MaybeUninit::uninit(),
            tail: [CANARY; MAX_GROWTH + 64],
        };
        let p = (&raw mut buf).cast::<u8>();
        // SAFETY: the buffer is writable for all of it.
        unsafe { std::ptr::write_bytes(p, CANARY, known) };
        // SAFETY: writable for every size tried (at most known + MAX_GROWTH).
        let rc = unsafe { init_sized(p.cast::<T>(), size, "opts") };
        check(p);
        rc
    };
    // SAFETY (for the closures below): `p` is the buffer, `total` bytes.
    let bytes = |p: *const u8, from: usize, to: usize| unsafe {
        std::slice::from_raw_parts(p.add(from), to - from).to_vec()
    };
    let mut sizes = T::VERSIONS.to_vec();
    sizes.push(known + 8);
    for size in sizes {
        let rc = init(size, &|p| {
            let head = bytes(p, 0, 4);
            assert_eq!(
                u32::from_ne_bytes(head.try_into().unwrap()) as usize,
                size,
                "{name}: struct_size after init_sized({size})"
            );
            assert!(
                bytes(p, known.min(size), size).iter().all(|&b| b == 0),
                "{name}: init_sized({size}) zeroes what this library does not know"
            );
            assert!(
                bytes(p, size, total).iter().all(|&b| b == CANARY),
                "{name}: init_sized({size}) wrote past the caller's struct"
            );
            // SAFETY: the struct holds struct_size bytes.
            let back = unsafe { read(p.cast::<T>(), "opts") };
            assert!(back.is_ok(), "{name}: read after init_sized({size})");
        });
        assert_eq!(rc, err::S_OK, "{name}: init_sized({size})");
    }
    for bad in [0, 3, T::VERSIONS[0] - 1, known + MAX_GROWTH + 1] {
        let rc = init(bad, &|p| {
            assert!(
                bytes(p, 0, total).iter().all(|&b| b == CANARY),
                "{name}: a refused init_sized({bad}) wrote nothing"
            );
        });
        assert_eq!(rc, err::E_INVALID_OPTION, "{name}: init_sized({bad})");
    }
    // SAFETY: NULL is refused before anything is written.
    assert_eq!(
        unsafe { init_sized::<T>(std::ptr::null_mut(), known, "opts") },
        err::E_POINTER
    );
}
