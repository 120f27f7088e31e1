//! Checking an LMDB data file before LMDB opens it.
//!
//! LMDB trusts its file: it checks no checksums, and follows node offsets,
//! key and data sizes and child page numbers as they are, so a damaged
//! `data.mdb` (a failing disk's bit flips, a copy taken mid-write, another
//! program writing it) can make it read outside a page or outside the map
//! (SIGSEGV) or fail one of its assertions (SIGABRT). [`data_file`] reads
//! the file itself (plain reads, never through LMDB, never a mapping) and
//! checks everything LMDB relies on to stay in bounds, in the format of
//! the LMDB libsess links (`mdb.c` 0.9, 64-bit: `MDB_page`, `MDB_node`,
//! `MDB_meta`, `MDB_db`):
//!
//! - both meta pages as LMDB reads them (magic, version, page size), the
//!   one LMDB picks (the larger transaction ID) on the page of its
//!   transaction ID's parity, its last page within the file;
//! - the free-page database, the main one and every named one in it: each
//!   page reached once, its number matching its place, its type matching
//!   its depth (branches above, leaves at the tree's depth), its
//!   `mp_lower`/`mp_upper` in order, each node inside the page past
//!   `mp_upper`, its key and data inside the page, the nodes packed from
//!   `mp_upper` to the page's end, keys in order and
//!   within the bounds their branch gives, two children or more per
//!   branch, child pages and overflow runs within the last page, the
//!   tree's page and record counts as its record says; the free lists'
//!   keys committed transaction IDs (1 to the meta's), their page numbers
//!   in range, listed once and used by no tree.
//!
//! Only what libsess writes is accepted: no duplicate-sorted or
//! integer-keyed databases (their pages, `P_LEAF2` and sub-pages, are
//! never walked), so another program's environment using them is refused
//! too.
//!
//! The check reads every page in use once: linear in the file's used size
//! (see `docs/ARCHITECTURE.md` for the measured cost), which is why it
//! runs only when a process is the first to open the environment
//! (`env.rs`).

use std::cmp::Ordering;
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{self, Error, Result};

// The layout read here is LMDB's on 64-bit little-endian targets (8-byte
// page numbers and sizes, in the host's byte order).
const _: () = assert!(
    cfg!(target_pointer_width = "64") && cfg!(target_endian = "little"),
    "verify.rs reads LMDB's 64-bit little-endian file layout"
);

/// `PAGEHDRSZ`: the page header (page number, pad, flags, lower, upper).
const PAGE_HEADER: usize = 16;
/// `NODESIZE`: a node's header (size or child low words, flags, key size).
const NODE_HEADER: usize = 8;
/// `sizeof(MDB_db)`.
pub(super) const DB_SIZE: usize = 48;
/// `sizeof(MDB_meta)`.
const META_SIZE: usize = 136;

/// `MDB_MAGIC` and `MDB_DATA_VERSION`.
const MAGIC: u32 = 0xBEEF_C0DE;
const DATA_VERSION: u32 = 1;

/// Page flags (`mp_flags`).
const P_BRANCH: u16 = 0x01;
const P_LEAF: u16 = 0x02;
const P_OVERFLOW: u16 = 0x04;
const P_META: u16 = 0x08;

/// Leaf node flags (`mn_flags`).
const F_BIGDATA: u16 = 0x01;
const F_SUBDATA: u16 = 0x02;

/// `MDB_INTEGERKEY`: the free database's only flag in libsess's files.
const MDB_INTEGERKEY: u16 = 0x08;

/// `P_INVALID`: the root of an empty tree.
const NO_PAGE: u64 = u64::MAX;
/// `CURSOR_STACK`: the deepest tree LMDB walks.
const MAX_DEPTH: u16 = 32;
/// Page sizes LMDB uses (`MAX_PAGESIZE` 32 KiB; the smallest OS page).
const PAGE_SIZES: std::ops::RangeInclusive<u32> = 512..=0x8000;

/// Checks the LMDB data file `data.mdb` of the directory `dir` (see the
/// module documentation): `E_STORE_CORRUPT` naming the file and the page
/// at the first damage found, `E_STORE_ACCESS` if it cannot be read. A
/// missing or empty file is fine (LMDB makes a new one).
pub(super) fn data_file(dir: &Path) -> Result<()> {
    let path = dir.join("data.mdb");
    let access = |e: std::io::Error| {
        Error::new(
            error::E_STORE_ACCESS,
            format!("lmdb data file {}: {e}", path.display()),
        )
    };
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(access(e)),
    };
    let len = file.metadata().map_err(access)?.len();
    if len == 0 {
        return Ok(());
    }
    check(&file, len).map_err(|d| match d {
        Damage::Io(e) => access(e),
        Damage::At(page, what) => Error::new(
            error::E_STORE_CORRUPT,
            format!(
                "{}: page {page}: {what}: the file is damaged (LMDB would crash \
                 on it); stop every process using the directory, then restore \
                 it from a backup or remove its files (its sessions are lost)",
                path.display()
            ),
        ),
    })
}

/// What stopped the check.
enum Damage {
    /// Page `.0` is damaged: `.1` says how.
    At(u64, String),
    /// The file could not be read.
    Io(std::io::Error),
}

/// `Err(Damage::At(page, what))`.
fn bad<T>(page: u64, what: impl Into<String>) -> std::result::Result<T, Damage> {
    Err(Damage::At(page, what.into()))
}

type Checked<T = ()> = std::result::Result<T, Damage>;

/// Little-endian fields at byte offsets of a page.
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// An `MDB_db`: one tree's record (also read by `env.rs`, which counts
/// the pages of the trees the main database names).
#[derive(Clone, Copy)]
pub(super) struct Db {
    flags: u16,
    pub(super) depth: u16,
    pub(super) branch_pages: u64,
    pub(super) leaf_pages: u64,
    pub(super) overflow_pages: u64,
    entries: u64,
    root: u64,
}

impl Db {
    /// Parses the record `b` ([`DB_SIZE`] bytes at least).
    pub(super) fn parse(b: &[u8]) -> Db {
        Db {
            flags: u16_at(b, 4),
            depth: u16_at(b, 6),
            branch_pages: u64_at(b, 8),
            leaf_pages: u64_at(b, 16),
            overflow_pages: u64_at(b, 24),
            entries: u64_at(b, 32),
            root: u64_at(b, 40),
        }
    }
}

/// An `MDB_meta`, with its page's header.
struct Meta {
    page_size: u32,
    free: Db,
    main: Db,
    last_page: u64,
    txnid: u64,
}

/// Reads and checks meta page `n` (0 or 1) at `offset` as LMDB does
/// (`mdb_env_read_header`), and its page number.
fn meta(file: &File, n: u64, offset: u64) -> Checked<Meta> {
    let mut b = [0u8; PAGE_HEADER + META_SIZE];
    file.read_exact_at(&mut b, offset)
        .map_err(|e| match e.kind() {
            ErrorKind::UnexpectedEof => Damage::At(n, "the file ends inside it".into()),
            _ => Damage::Io(e),
        })?;
    let m = &b[PAGE_HEADER..];
    if u16_at(&b, 10) != P_META || u64_at(&b, 0) != n {
        return bad(n, "not a meta page");
    }
    if u32_at(m, 0) != MAGIC {
        return bad(n, "not an LMDB file (no LMDB magic)");
    }
    if u32_at(m, 4) != DATA_VERSION {
        return bad(n, format!("LMDB data format {}, not 1", u32_at(m, 4)));
    }
    let page_size = u32_at(m, 24);
    if !PAGE_SIZES.contains(&page_size) || !page_size.is_power_of_two() {
        return bad(n, format!("page size {page_size}"));
    }
    Ok(Meta {
        page_size,
        free: Db::parse(&m[24..24 + DB_SIZE]),
        main: Db::parse(&m[24 + DB_SIZE..24 + 2 * DB_SIZE]),
        last_page: u64_at(m, 120),
        txnid: u64_at(m, 128),
    })
}

/// Checks the data file `file` of `len` bytes.
fn check(file: &File, len: u64) -> Checked {
    let first = meta(file, 0, 0)?;
    // LMDB reads the second where the first's page size puts it.
    let second = meta(file, 1, u64::from(first.page_size))?;
    if second.page_size != first.page_size {
        return bad(1, "a page size other than page 0's");
    }
    // Tie: the first (`mdb_env_pick_meta`).
    let (n, m) = if second.txnid > first.txnid {
        (1, second)
    } else {
        (0, first)
    };
    // LMDB writes transaction t's meta into page t % 2, and every
    // transaction reads its snapshot from there (`mdb_txn_renew0`): on the
    // other page, LMDB would use the other meta's trees, unchecked.
    if m.txnid % 2 != n {
        return bad(
            n,
            format!(
                "transaction {}'s meta, which LMDB writes on page {}",
                m.txnid,
                m.txnid % 2
            ),
        );
    }
    let psize = u64::from(m.page_size);
    let pages = len / psize;
    if m.last_page < 1 || m.last_page >= pages {
        return bad(
            n,
            format!(
                "last page {} but the file has {pages} pages (truncated?)",
                m.last_page
            ),
        );
    }
    let mut walk = Walk {
        file,
        psize: m.page_size as usize,
        last_page: m.last_page,
        txnid: m.txnid,
        seen: vec![0; (m.last_page / 64 + 1) as usize],
        spans: Vec::new(),
    };
    walk.mark(0, 0)?;
    walk.mark(1, 1)?;
    let mut named = Vec::new();
    walk.tree(n, &m.free, Tree::Free, &mut named)?;
    walk.tree(n, &m.main, Tree::Main, &mut named)?;
    for (page, db) in named {
        walk.tree(page, &db, Tree::Named, &mut Vec::new())?;
    }
    Ok(())
}

/// Which tree a page is in: the keys and records each holds.
#[derive(Clone, Copy, PartialEq)]
enum Tree {
    /// The free-page database: keys are transaction IDs (native 8-byte
    /// integers), records lists of free pages (`MDB_IDL`).
    Free,
    /// The main database: named databases' records (`F_SUBDATA`).
    Main,
    /// A named database: keys and records of libsess's own.
    Named,
}

impl Tree {
    /// LMDB's order of this tree's keys.
    fn compare(self, a: &[u8], b: &[u8]) -> Ordering {
        match self {
            Tree::Free => u64_at(a, 0).cmp(&u64_at(b, 0)),
            Tree::Main | Tree::Named => a.cmp(b),
        }
    }
}

/// What a tree's record counts, as found.
#[derive(Default, PartialEq)]
struct Counts {
    branch: u64,
    leaf: u64,
    overflow: u64,
    entries: u64,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Counts {
            branch,
            leaf,
            overflow,
            entries,
        } = self;
        write!(
            f,
            "{branch} branch, {leaf} leaf and {overflow} overflow pages, {entries} entries"
        )
    }
}

/// A walk over one snapshot's pages.
struct Walk<'f> {
    file: &'f File,
    psize: usize,
    last_page: u64,
    /// The snapshot's transaction ID (the meta's).
    txnid: u64,
    /// One bit per page up to the last: reached already.
    seen: Vec<u64>,
    /// The page being checked's nodes, as offset and end (kept for the
    /// next page's).
    spans: Vec<u32>,
}

/// The bounds a branch gives a subtree's keys: at least `low`, below
/// `high`.
#[derive(Clone, Copy)]
struct Bounds<'k> {
    low: Option<&'k [u8]>,
    high: Option<&'k [u8]>,
}

impl Walk<'_> {
    /// Marks page `pgno` (reached from page `from`) as used: in range and
    /// not used before.
    fn mark(&mut self, from: u64, pgno: u64) -> Checked {
        if pgno > self.last_page {
            return bad(
                from,
                format!("page {pgno} past the last, {}", self.last_page),
            );
        }
        let (word, bit) = ((pgno / 64) as usize, 1u64 << (pgno % 64));
        if self.seen[word] & bit != 0 {
            return bad(from, format!("page {pgno} is used twice"));
        }
        self.seen[word] |= bit;
        Ok(())
    }

    /// Reads page `pgno` (reached from `from`), marking it, and checks its
    /// header's page number and that its type is `kind`.
    fn page(&mut self, from: u64, pgno: u64, kind: u16) -> Checked<Vec<u8>> {
        if pgno < 2 {
            return bad(from, format!("a tree points at meta page {pgno}"));
        }
        self.mark(from, pgno)?;
        let mut b = vec![0u8; self.psize];
        self.file
            .read_exact_at(&mut b, pgno * self.psize as u64)
            .map_err(Damage::Io)?;
        if u64_at(&b, 0) != pgno {
            return bad(pgno, format!("its header says page {}", u64_at(&b, 0)));
        }
        // Exactly the type: a committed page has no other flag (dirty,
        // loose, keep are cleared before or instead of being written).
        let flags = u16_at(&b, 10);
        if flags != kind {
            return bad(pgno, format!("flags {flags:#x}, not {kind:#x}"));
        }
        Ok(b)
    }

    /// Checks the tree `db` (its record read on page `from`) of kind `tree`,
    /// adding the named databases a main tree holds to `named`.
    fn tree(&mut self, from: u64, db: &Db, tree: Tree, named: &mut Vec<(u64, Db)>) -> Checked {
        // libsess opens every database with no flags. The free database's
        // are `MDB_INTEGERKEY` and the environment's flags below 0x10000
        // (none of libsess's); LMDB reads them for every cursor on it (a
        // `MDB_DUPSORT` there and it follows a sub-cursor it never made).
        let libsess = if tree == Tree::Free {
            MDB_INTEGERKEY
        } else {
            0
        };
        if db.flags != libsess {
            return bad(
                from,
                format!(
                    "a database with flags {:#x} (not libsess's: {libsess:#x})",
                    db.flags
                ),
            );
        }
        let mut counts = Counts::default();
        if db.root == NO_PAGE {
            if db.depth != 0 {
                return bad(from, "an empty tree with a depth");
            }
        } else {
            if db.depth == 0 || db.depth > MAX_DEPTH {
                return bad(from, format!("a tree of depth {}", db.depth));
            }
            let all = Bounds {
                low: None,
                high: None,
            };
            self.node_page(from, db.root, 1, db.depth, tree, all, &mut counts, named)?;
        }
        let recorded = Counts {
            branch: db.branch_pages,
            leaf: db.leaf_pages,
            overflow: db.overflow_pages,
            entries: db.entries,
        };
        if counts != recorded {
            return bad(
                from,
                format!("a tree's record says {recorded}; its pages hold {counts}"),
            );
        }
        Ok(())
    }

    /// Checks branch or leaf page `pgno` (reached from `from`) at `level`
    /// of a tree of `depth`, its keys within `bounds`, and what is below.
    #[allow(clippy::too_many_arguments)]
    fn node_page(
        &mut self,
        from: u64,
        pgno: u64,
        level: u16,
        depth: u16,
        tree: Tree,
        bounds: Bounds<'_>,
        counts: &mut Counts,
        named: &mut Vec<(u64, Db)>,
    ) -> Checked {
        let leaf = level == depth;
        let b = self.page(from, pgno, if leaf { P_LEAF } else { P_BRANCH })?;
        let nodes = self.nodes(pgno, &b, leaf, tree)?;
        if leaf {
            counts.leaf += 1;
        } else {
            counts.branch += 1;
        }
        for (i, node) in nodes.iter().enumerate() {
            let key = &b[node.key.clone()];
            if !leaf {
                // Keys below the first separator, from the next one up.
                let child = Bounds {
                    low: if i == 0 { bounds.low } else { Some(key) },
                    high: nodes
                        .get(i + 1)
                        .map_or(bounds.high, |n| Some(&b[n.key.clone()])),
                };
                let child_pgno = node.child(&b);
                self.node_page(
                    pgno,
                    child_pgno,
                    level + 1,
                    depth,
                    tree,
                    child,
                    counts,
                    named,
                )?;
                continue;
            }
            let below = bounds.low.is_some_and(|l| tree.compare(key, l).is_lt());
            let above = bounds.high.is_some_and(|h| tree.compare(key, h).is_ge());
            if below || above {
                return bad(pgno, format!("node {i}'s key is out of its branch's range"));
            }
            counts.entries += 1;
            self.record(pgno, &b, node, tree, counts, named)?;
        }
        Ok(())
    }

    /// The nodes of branch or leaf page `b` (number `pgno`), checked to lie
    /// inside it, their keys in order.
    fn nodes(&mut self, pgno: u64, b: &[u8], leaf: bool, tree: Tree) -> Checked<Vec<Node>> {
        let (lower, upper) = (usize::from(u16_at(b, 12)), usize::from(u16_at(b, 14)));
        if lower < PAGE_HEADER || !lower.is_multiple_of(2) || lower > upper || upper > self.psize {
            return bad(pgno, format!("mp_lower {lower}, mp_upper {upper}"));
        }
        let n = (lower - PAGE_HEADER) / 2;
        // A branch has two children or more: LMDB merges or collapses one
        // left with one child in the same delete (the free database's only
        // meanwhile), and its rebalancing reads a second child of a leaf's
        // parent (`mdb_rebalance`). A page with no node is freed.
        let least = if leaf { 1 } else { 2 };
        if n < least {
            return bad(pgno, format!("{n} nodes"));
        }
        let mut nodes: Vec<Node> = Vec::with_capacity(n);
        for i in 0..n {
            let at = usize::from(u16_at(b, PAGE_HEADER + 2 * i));
            if at < upper || !at.is_multiple_of(2) || at + NODE_HEADER > self.psize {
                return bad(pgno, format!("node {i} at offset {at}"));
            }
            let key = at + NODE_HEADER..at + NODE_HEADER + usize::from(u16_at(b, at + 6));
            // Free database keys are 8-byte integers (a branch's first is
            // not compared, and may be empty).
            let integer = tree == Tree::Free && (leaf || i > 0);
            if key.end > self.psize || (integer && key.len() != 8) {
                return bad(pgno, format!("node {i}'s key of {} bytes", key.len()));
            }
            // A branch's first key is not compared (LMDB ignores it).
            if let Some(prev) = nodes.last().filter(|_| leaf || i > 1) {
                if tree.compare(&b[prev.key.clone()], &b[key.clone()]).is_ge() {
                    return bad(pgno, format!("node {i}'s key is out of order"));
                }
            }
            nodes.push(Node { at, key });
        }
        // LMDB keeps a page's nodes packed from `mp_upper` to its end, and
        // moves them by the sizes their headers give on every insert and
        // delete: sizes that do not tile that space would have it move the
        // wrong bytes, or find a page full that is not.
        let spans = &mut self.spans;
        spans.clear();
        for node in &nodes {
            let stop = node.at + node_size(b, node, leaf);
            if stop > self.psize {
                return bad(pgno, format!("nodes not packed: one ends at offset {stop}"));
            }
            // Offset and end, each below 2^16: sorted by offset.
            spans.push((node.at as u32) << 16 | stop as u32);
        }
        spans.sort_unstable();
        let mut end = upper;
        for &span in spans.iter() {
            let at = (span >> 16) as usize;
            if at != end {
                return bad(
                    pgno,
                    format!("nodes not packed: one at offset {at}, not {end}"),
                );
            }
            end = (span & 0xFFFF) as usize;
        }
        if end != self.psize {
            return bad(pgno, format!("nodes not packed: they end at offset {end}"));
        }
        Ok(nodes)
    }

    /// Checks the record of leaf `node` on page `b` (number `pgno`): its
    /// data inside the page or its overflow run, a named database's record,
    /// a free list.
    fn record(
        &mut self,
        pgno: u64,
        b: &[u8],
        node: &Node,
        tree: Tree,
        counts: &mut Counts,
        named: &mut Vec<(u64, Db)>,
    ) -> Checked {
        // A free list's key is the transaction that freed its pages. LMDB
        // takes a key 0 for "no list taken yet" (`me_pglast`): it would
        // take that list again, handing its pages out twice, and keep it.
        if tree == Tree::Free {
            let txnid = u64_at(b, node.key.start);
            if txnid == 0 || txnid > self.txnid {
                return bad(
                    pgno,
                    format!(
                        "a free list of transaction {txnid} in the snapshot of transaction {}",
                        self.txnid
                    ),
                );
            }
        }
        let flags = u16_at(b, node.at + 4);
        let size = node.data_size(b);
        let inline = |len: usize| {
            let data = node.key.end..node.key.end + len;
            if data.end > self.psize {
                return bad(
                    pgno,
                    format!("a record of {size} bytes past the page's end"),
                );
            }
            Ok(data)
        };
        match flags {
            0 if tree == Tree::Free => {
                let data = inline(size)?;
                self.free_list(pgno, &b[data])
            }
            0 => inline(size).map(drop),
            F_BIGDATA => {
                let run = u64_at(b, inline(8)?.start);
                let data = self.overflow(pgno, run, size, tree == Tree::Free, counts)?;
                match tree {
                    Tree::Free => self.free_list(run, &data),
                    _ => Ok(()),
                }
            }
            F_SUBDATA if tree == Tree::Main && size == DB_SIZE => {
                let data = inline(DB_SIZE)?;
                named.push((pgno, Db::parse(&b[data])));
                Ok(())
            }
            _ => bad(pgno, format!("a record with flags {flags:#x}")),
        }
    }

    /// Checks the overflow run starting at page `run` (reached from
    /// `from`) holding `size` bytes, and marks its pages: its bytes if
    /// `read`.
    fn overflow(
        &mut self,
        from: u64,
        run: u64,
        size: usize,
        read: bool,
        counts: &mut Counts,
    ) -> Checked<Vec<u8>> {
        let b = self.page(from, run, P_OVERFLOW)?;
        let pages = u64::from(u32_at(&b, 12));
        let room = (pages as usize * self.psize).saturating_sub(PAGE_HEADER);
        if pages == 0 || run.saturating_add(pages - 1) > self.last_page || size > room {
            return bad(
                run,
                format!("an overflow run of {pages} pages for {size} bytes"),
            );
        }
        for p in run + 1..run + pages {
            self.mark(run, p)?;
        }
        counts.overflow += pages;
        if !read {
            return Ok(Vec::new());
        }
        let mut data = vec![0u8; size];
        self.file
            .read_exact_at(&mut data, run * self.psize as u64 + PAGE_HEADER as u64)
            .map_err(Damage::Io)?;
        Ok(data)
    }

    /// Checks a free list (`MDB_IDL`: its length, then page numbers in
    /// descending order), read from page `pgno`, and marks its pages.
    fn free_list(&mut self, pgno: u64, data: &[u8]) -> Checked {
        // LMDB reads the count's entries only; a record it reserved may
        // hold more room than it filled (`mdb_freelist_save`).
        let room = (data.len() / 8).saturating_sub(1);
        let listed = if data.len() < 8 {
            u64::MAX
        } else {
            u64_at(data, 0)
        };
        if !data.len().is_multiple_of(8) || listed > room as u64 {
            return bad(pgno, format!("a free list of {} bytes", data.len()));
        }
        let mut prev = u64::MAX;
        for at in (8..8 + 8 * listed as usize).step_by(8) {
            let free = u64_at(data, at);
            if free >= prev || free < 2 {
                return bad(pgno, format!("free page {free} out of order"));
            }
            self.mark(pgno, free)?;
            prev = free;
        }
        Ok(())
    }
}

/// A node of a branch or leaf page: its offset and its key's bytes.
struct Node {
    at: usize,
    key: std::ops::Range<usize>,
}

/// The bytes `node` of page `b` takes as LMDB counts them (`mdb_node_add`,
/// `mdb_node_del`): its header and key, a leaf's data (inline, or the page
/// number of its overflow run), rounded up to even.
fn node_size(b: &[u8], node: &Node, leaf: bool) -> usize {
    let data = match (leaf, u16_at(b, node.at + 4) & F_BIGDATA != 0) {
        (false, _) => 0,
        (true, true) => 8,
        (true, false) => node.data_size(b),
    };
    (NODE_HEADER + node.key.len() + data + 1) & !1
}

impl Node {
    /// A leaf node's data size (`NODEDSZ`: low and high words).
    fn data_size(&self, b: &[u8]) -> usize {
        usize::from(u16_at(b, self.at)) | (usize::from(u16_at(b, self.at + 2)) << 16)
    }

    /// A branch node's child page number (`NODEPGNO`: low, high and flags
    /// words).
    fn child(&self, b: &[u8]) -> u64 {
        u64::from(u16_at(b, self.at))
            | (u64::from(u16_at(b, self.at + 2)) << 16)
            | (u64::from(u16_at(b, self.at + 4)) << 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heed::types::Bytes;
    use heed::{Database, EnvFlags, EnvOpenOptions};

    /// A fresh directory for test `what`.
    fn dir(what: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("libsess-verify-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes into an environment in `dir` as libsess does (write map,
    /// named databases): `rounds` transactions of puts and deletes of
    /// records from 0 to 9000 bytes (overflow pages), so that trees split
    /// and merge and the free database grows (long free lists in overflow
    /// pages too).
    fn churn(dir: &Path, rounds: u64) {
        let mut o = EnvOpenOptions::new().read_txn_without_tls();
        o.map_size(64 << 20).max_dbs(4);
        // SAFETY: LMDB's documented flags; no other environment is open
        // on `dir`.
        let env = unsafe {
            o.flags(EnvFlags::WRITE_MAP | EnvFlags::NO_SYNC);
            o.open(dir)
        }
        .unwrap();
        let mut txn = env.write_txn().unwrap();
        let dbs: Vec<Database<Bytes, Bytes>> = ["a", "b"]
            .iter()
            .map(|n| env.create_database(&mut txn, Some(n)).unwrap())
            .collect();
        txn.commit().unwrap();
        let mut x = 7u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..rounds {
            let mut txn = env.write_txn().unwrap();
            for _ in 0..200 {
                let db = dbs[(next() % 2) as usize];
                let key = (next() % 3000).to_be_bytes();
                if round % 3 == 2 && next() % 2 == 0 {
                    db.delete(&mut txn, &key).unwrap();
                } else {
                    let len = [0, 40, 700, 3000, 9000][(next() % 5) as usize];
                    db.put(&mut txn, &key, &vec![round as u8; len]).unwrap();
                }
            }
            txn.commit().unwrap();
        }
    }

    #[test]
    fn files_lmdb_wrote_pass() {
        let dir = dir("sound");
        // None yet, then an empty environment, then one churned.
        data_file(&dir).unwrap();
        churn(&dir, 0);
        data_file(&dir).unwrap();
        churn(&dir, 60);
        data_file(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The data file's used pages (up to the last page of either meta:
    /// the rest of the map is holes), and the page size.
    fn pages(dir: &Path) -> (Vec<u8>, usize) {
        let mut bytes = std::fs::read(dir.join("data.mdb")).unwrap();
        let psize = u32_at(&bytes, PAGE_HEADER + 24) as usize;
        let last = |m: usize| u64_at(&bytes, m + PAGE_HEADER + 120) as usize;
        bytes.truncate((last(0).max(last(psize)) + 1) * psize);
        (bytes, psize)
    }

    /// [`verified`]'s error.
    fn refused(what: &str, damage: impl FnOnce(&mut Vec<u8>, usize)) -> Error {
        verified(what, damage).expect_err(what)
    }

    /// `data_file`'s verdict after `damage` changed the data file of an
    /// environment churned in `dir`.
    fn verified(what: &str, damage: impl FnOnce(&mut Vec<u8>, usize)) -> Result<()> {
        let dir = dir(what);
        churn(&dir, 20);
        let (mut bytes, psize) = pages(&dir);
        damage(&mut bytes, psize);
        std::fs::write(dir.join("data.mdb"), &bytes).unwrap();
        let verdict = data_file(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        verdict
    }

    #[test]
    fn damage_is_store_corrupt_naming_the_file_and_page() {
        let e = refused("magic", |b, _| b[PAGE_HEADER] ^= 1);
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        assert!(
            e.detail().contains("data.mdb: page 0: not an LMDB file"),
            "{e}"
        );
        let e = refused("size", |b, psize| {
            b[PAGE_HEADER + 24..PAGE_HEADER + 28]
                .copy_from_slice(&(psize as u32 + 1).to_le_bytes());
        });
        assert!(e.detail().contains("page size"), "{e}");
        // Both metas' last page past the file's end.
        let e = refused("last", |b, psize| {
            for m in [0, psize] {
                b[m + PAGE_HEADER + 120..m + PAGE_HEADER + 128]
                    .copy_from_slice(&(1u64 << 40).to_le_bytes());
            }
        });
        assert!(e.detail().contains("truncated"), "{e}");
        // The main database's entry count one more than it holds.
        let e = refused("count", |b, psize| {
            for m in [0, psize] {
                let entries = m + PAGE_HEADER + 24 + DB_SIZE + 32;
                let n = u64_at(b, entries) + 1;
                b[entries..entries + 8].copy_from_slice(&n.to_le_bytes());
            }
        });
        assert!(
            e.detail().contains("a tree's record says 0 branch, 1 leaf and 0 overflow pages, 3 entries; its pages hold 0 branch, 1 leaf and 0 overflow pages, 2 entries"),
            "{e}"
        );
        // Every page after the metas zeroed: the first tree page reached
        // says it is another (page 0).
        let e = refused("zeroed", |b, psize| b[2 * psize..].fill(0));
        assert!(e.detail().contains("its header says page 0"), "{e}");
    }

    /// `data_file` of `dir` after writing `bytes` into its data file:
    /// never a panic, only a pass or `E_STORE_CORRUPT`.
    fn checked(dir: &Path, bytes: &[u8]) -> Result<()> {
        std::fs::write(dir.join("data.mdb"), bytes).unwrap();
        let r = data_file(dir);
        if let Err(e) = &r {
            assert_eq!(e.code(), error::E_STORE_CORRUPT, "{e}");
        }
        r
    }

    #[test]
    fn overflow_runs_of_no_pages_or_too_many_are_refused() {
        let dir = dir("runs");
        churn(&dir, 20);
        let (bytes, psize) = pages(&dir);
        let runs: Vec<usize> = (2 * psize..bytes.len())
            .step_by(psize)
            .filter(|&p| u16_at(&bytes, p + 10) == P_OVERFLOW)
            .take(40)
            .collect();
        for pages in [0u32, u32::MAX] {
            let refused = runs.iter().filter(|&&p| {
                let mut b = bytes.clone();
                b[p + 12..p + 16].copy_from_slice(&pages.to_le_bytes());
                checked(&dir, &b).is_err()
            });
            // Some runs are free pages (not reached): those pass.
            assert!(refused.count() > 0, "{pages} pages");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A node's data size made 2 bytes smaller: still inside its page, but
    /// the page's nodes no longer tile it (LMDB would move the wrong bytes
    /// when it next inserts or deletes there).
    #[test]
    fn node_sizes_that_do_not_tile_their_page_are_refused() {
        let dir = dir("tiles");
        churn(&dir, 20);
        let (bytes, psize) = pages(&dir);
        let mut refused = 0;
        for p in (2 * psize..bytes.len()).step_by(psize) {
            if u16_at(&bytes, p + 10) != P_LEAF {
                continue;
            }
            let mut b = bytes.clone();
            let node = p + usize::from(u16_at(&b, p + PAGE_HEADER));
            let size = u16_at(&b, node);
            if u16_at(&b, node + 4) != 0 || u16_at(&b, node + 2) != 0 || size < 2 {
                continue;
            }
            b[node..node + 2].copy_from_slice(&(size - 2).to_le_bytes());
            // A free page (not reached) passes.
            if let Err(e) = checked(&dir, &b) {
                assert!(e.detail().contains("nodes"), "{e}");
                refused += 1;
            }
        }
        assert!(refused > 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn random_damage_is_refused_or_harmless_never_a_panic() {
        let dir = dir("random");
        churn(&dir, 10);
        let (bytes, psize) = pages(&dir);
        let mut x = 0x5EED_u64;
        let mut refused = 0;
        for i in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut b = bytes.clone();
            // Anywhere, or (every other one) in a page's header or the
            // start of its node offsets, where most damage is structural.
            let at = match i % 2 {
                0 => (x >> 8) as usize % (b.len() - 8),
                _ => (x >> 8) as usize % (b.len() / psize) * psize + (x >> 40) as usize % 32,
            } / 2
                * 2;
            b[at..at + 2].copy_from_slice(&(x as u16).to_le_bytes());
            refused += usize::from(checked(&dir, &b).is_err());
        }
        assert!(refused > 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Found by the `lmdb_file` fuzz target: `MDB_DUPSORT` among the free
    /// database's flags crashed LMDB's first write (SIGSEGV).
    #[test]
    fn free_database_flags_other_than_lmdbs_are_refused() {
        for flag in [0x04u16, 0x01, 0x4000] {
            let e = refused("free-flags", |b, psize| {
                for m in [0, psize] {
                    let flags = m + PAGE_HEADER + 24 + 4;
                    let was = u16_at(b, flags);
                    b[flags..flags + 2].copy_from_slice(&(was | flag).to_le_bytes());
                }
            });
            assert_eq!(e.code(), error::E_STORE_CORRUPT);
            assert!(e.detail().contains("a database with flags"), "{e}");
        }
    }

    /// The offset in `b` (pages of `psize` bytes) of the meta page LMDB
    /// picks.
    fn newer(b: &[u8], psize: usize) -> usize {
        let txnid = |m: usize| u64_at(b, m + PAGE_HEADER + 128);
        if txnid(psize) > txnid(0) {
            psize
        } else {
            0
        }
    }

    /// The offsets in `b` of the keys of the free database's first and last
    /// records.
    fn free_keys(b: &[u8], psize: usize) -> (usize, usize) {
        let free = Db::parse(&b[newer(b, psize) + PAGE_HEADER + 24..]);
        assert_ne!(free.root, NO_PAGE, "no free list");
        let key = |last: bool| {
            let mut page = free.root as usize * psize;
            loop {
                let p = &b[page..page + psize];
                let n = (usize::from(u16_at(p, 12)) - PAGE_HEADER) / 2;
                let at = usize::from(u16_at(p, PAGE_HEADER + 2 * if last { n - 1 } else { 0 }));
                if u16_at(p, 10) == P_LEAF {
                    return page + at + NODE_HEADER;
                }
                page = Node { at, key: 0..0 }.child(p) as usize * psize;
            }
        };
        (key(false), key(true))
    }

    /// One more than the newer meta's transaction ID: LMDB would read every
    /// snapshot from the other meta page (`txnid & 1`), never walked.
    #[test]
    fn a_meta_on_the_page_of_the_other_parity_is_refused() {
        let e = refused("parity", |b, psize| {
            let txnid = newer(b, psize) + PAGE_HEADER + 128;
            let one_more = u64_at(b, txnid) + 1;
            b[txnid..txnid + 8].copy_from_slice(&one_more.to_le_bytes());
        });
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        assert!(
            e.detail().contains("meta, which LMDB writes on page"),
            "{e}"
        );
    }

    /// A free list keyed 0 (key 1, one bit flipped) LMDB would hand out
    /// twice; one keyed after the snapshot's transaction, LMDB never writes.
    #[test]
    fn free_lists_of_transaction_0_or_a_later_one_are_refused() {
        let e = refused("free-0", |b, psize| {
            let first = free_keys(b, psize).0;
            b[first..first + 8].fill(0);
        });
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        assert!(e.detail().contains("a free list of transaction 0 "), "{e}");
        let e = refused("free-later", |b, psize| {
            let last = free_keys(b, psize).1;
            let later = u64_at(b, newer(b, psize) + PAGE_HEADER + 128) + 1;
            b[last..last + 8].copy_from_slice(&later.to_le_bytes());
        });
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        assert!(e.detail().contains("in the snapshot of transaction"), "{e}");
    }

    /// The count of the free database's first record, and the room its
    /// record holds for page numbers.
    fn first_free_count(b: &[u8], psize: usize) -> (usize, u64) {
        let key = free_keys(b, psize).0;
        let node = key - NODE_HEADER;
        let mut at = key + usize::from(u16_at(b, node + 6));
        let mut size = usize::from(u16_at(b, node)) | (usize::from(u16_at(b, node + 2)) << 16);
        if u16_at(b, node + 4) & F_BIGDATA != 0 {
            at = u64_at(b, at) as usize * psize + PAGE_HEADER;
        } else {
            size = size.min(b.len() - at);
        }
        (at, (size / 8 - 1) as u64)
    }

    /// LMDB reads as many page numbers as the count says; a record with
    /// room to spare passes, one counting past its room does not.
    #[test]
    fn a_free_list_is_read_up_to_its_count() {
        verified("free-short", |b, psize| {
            let (count, room) = first_free_count(b, psize);
            assert_eq!(u64_at(b, count), room, "LMDB fills its records");
            b[count..count + 8].copy_from_slice(&(room - 1).to_le_bytes());
        })
        .unwrap();
        let e = refused("free-long", |b, psize| {
            let (count, room) = first_free_count(b, psize);
            b[count..count + 8].copy_from_slice(&(room + 1).to_le_bytes());
        });
        assert!(e.detail().contains("a free list of"), "{e}");
    }

    /// The free database's root put under a new branch of one child: LMDB
    /// never commits one, and rebalancing the leaf below would read the
    /// branch's second child.
    #[test]
    fn free_database_branches_of_one_child_are_refused() {
        let e = refused("free-branch", |b, psize| {
            let m = newer(b, psize) + PAGE_HEADER;
            let free = m + 24;
            let root = u64_at(b, free + 40);
            let branch = (b.len() / psize) as u64;
            let mut page = vec![0u8; psize];
            page[..8].copy_from_slice(&branch.to_le_bytes());
            page[10..12].copy_from_slice(&P_BRANCH.to_le_bytes());
            page[12..14].copy_from_slice(&(PAGE_HEADER as u16 + 2).to_le_bytes());
            let node = psize - NODE_HEADER;
            page[14..16].copy_from_slice(&(node as u16).to_le_bytes());
            page[16..18].copy_from_slice(&(node as u16).to_le_bytes());
            // The child's page number in the node's low, high and flags
            // words; no key.
            page[node..node + 6].copy_from_slice(&root.to_le_bytes()[..6]);
            b.extend_from_slice(&page);
            let depth = u16_at(b, free + 6) + 1;
            b[free + 6..free + 8].copy_from_slice(&depth.to_le_bytes());
            let branches = u64_at(b, free + 8) + 1;
            b[free + 8..free + 16].copy_from_slice(&branches.to_le_bytes());
            b[free + 40..free + 48].copy_from_slice(&branch.to_le_bytes());
            b[m + 120..m + 128].copy_from_slice(&branch.to_le_bytes());
        });
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        assert!(e.detail().contains(": 1 nodes"), "{e}");
    }

    #[test]
    fn a_page_reached_twice_is_refused() {
        // The free database's root given as the main database's too.
        let e = refused("twice", |b, psize| {
            let txnid = |m: usize| u64_at(b, m + PAGE_HEADER + 128);
            let m = if txnid(psize) > txnid(0) { psize } else { 0 };
            let free_root = m + PAGE_HEADER + 24 + 40;
            let main_root = free_root + DB_SIZE;
            let root: [u8; 8] = b[free_root..free_root + 8].try_into().unwrap();
            b[main_root..main_root + 8].copy_from_slice(&root);
        });
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        assert!(e.detail().contains("used twice"), "{e}");
    }
}
