//! The table of one shard: open addressing on store keys, each slot holding
//! the key beside its value, linear probing.
//!
//! Why not `hashbrown`: its control bytes live in an array of their own, so
//! with a million sessions a lookup waits for two dependent cache misses
//! (control group, then bucket) before it even knows the session's address.
//! Here the slot the key's low bits name holds the key and the value, so
//! one miss finds the session. Store keys are already keyed, uniformly
//! random hashes, which is the case linear probing handles best; the table
//! is kept at most three quarters full.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A map from store keys to values.
pub(super) struct KeyTable<V> {
    /// A power-of-two number of slots, or none before the first insert.
    slots: Box<[Option<(u64, V)>]>,
    len: usize,
}

impl<V> Default for KeyTable<V> {
    fn default() -> Self {
        KeyTable {
            slots: Box::default(),
            len: 0,
        }
    }
}

/// The fewest slots a table that holds anything has.
const MIN_SLOTS: usize = 16;

impl<V> KeyTable<V> {
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Where `key`'s probe starts.
    fn home(&self, key: u64) -> usize {
        key as usize & self.mask()
    }

    /// The index of `key`'s slot, if it is present.
    fn find(&self, key: u64) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mut i = self.home(key);
        loop {
            match &self.slots[i] {
                None => return None,
                Some((k, _)) if *k == key => return Some(i),
                Some(_) => i = (i + 1) & self.mask(),
            }
        }
    }

    /// The value stored under `key`.
    pub(super) fn get(&self, key: u64) -> Option<&V> {
        self.find(key)
            .and_then(|i| self.slots[i].as_ref().map(|(_, v)| v))
    }

    /// Starts loading the slot where `key`'s probe starts (a hint).
    pub(super) fn prefetch(&self, key: u64) {
        if !self.slots.is_empty() {
            let slot = &self.slots[self.home(key)];
            super::prefetch_lines(std::ptr::from_ref(slot).cast(), size_of_val(slot));
        }
    }

    /// Stores `value` under `key` unless the key is present already; then
    /// hands `value` back.
    pub(super) fn insert_new(&mut self, key: u64, value: V) -> Result<(), V> {
        if self.find(key).is_some() {
            return Err(value);
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        self.place(key, value);
        self.len += 1;
        Ok(())
    }

    /// Puts an absent key in the first free slot of its probe.
    fn place(&mut self, key: u64, value: V) {
        let mut i = self.home(key);
        while self.slots[i].is_some() {
            i = (i + 1) & self.mask();
        }
        self.slots[i] = Some((key, value));
    }

    /// Doubles the slots (or makes the first ones) and re-places every key.
    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, (0..n).map(|_| None).collect());
        for (key, value) in old.into_vec().into_iter().flatten() {
            self.place(key, value);
        }
    }

    /// Takes `key`'s value out. The keys probed past its slot move back
    /// into the gap (backward-shift deletion), so no tombstones build up
    /// and lookups stay short however many sessions come and go.
    pub(super) fn remove(&mut self, key: u64) -> Option<V> {
        let mut hole = self.find(key)?;
        let (_, value) = self.slots[hole].take()?;
        self.len -= 1;
        let mask = self.mask();
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let Some((k, _)) = &self.slots[j] else {
                break;
            };
            // The key at `j` may fill the hole if its probe started at or
            // before the hole (cyclically): its distance from home to `j`
            // reaches back to the hole.
            if (j.wrapping_sub(self.home(*k)) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.slots[hole] = self.slots[j].take();
                hole = j;
            }
        }
        Some(value)
    }

    /// Empties the table, yielding every entry.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = (u64, V)> {
        self.len = 0;
        std::mem::take(&mut self.slots)
            .into_vec()
            .into_iter()
            .flatten()
    }
}

/// Where a table's slots are, readable without the table's lock, so a
/// lookup can start loading its slot while it waits for the lock. Only a
/// hint: read while the table grows, it may name the old slots, and
/// prefetching those is harmless. On a cache line of its own, written only
/// when the table grows or empties, so the cores keep it shared.
#[repr(align(64))]
pub(super) struct SlotHint<V> {
    base: AtomicUsize,
    mask: AtomicUsize,
    slot: PhantomData<fn() -> V>,
}

impl<V> Default for SlotHint<V> {
    fn default() -> Self {
        SlotHint {
            base: AtomicUsize::new(0),
            // No slots yet (see `update`).
            mask: AtomicUsize::new(usize::MAX),
            slot: PhantomData,
        }
    }
}

impl<V> SlotHint<V> {
    /// Records where `table`'s slots are now (after it may have grown).
    pub(super) fn update(&self, table: &KeyTable<V>) {
        let base = table.slots.as_ptr() as usize;
        if self.base.load(Ordering::Relaxed) != base {
            self.mask
                .store(table.slots.len().wrapping_sub(1), Ordering::Relaxed);
            self.base.store(base, Ordering::Relaxed);
        }
    }

    /// Starts loading the slot where `key`'s probe starts, if the table
    /// has slots (as last recorded).
    pub(super) fn prefetch(&self, key: u64) {
        if let Some(at) = self.address(key) {
            super::prefetch_lines(at as *const u8, size_of::<Option<(u64, V)>>());
        }
    }

    /// The address of `key`'s home slot, as last recorded.
    fn address(&self, key: u64) -> Option<usize> {
        let (base, mask) = (
            self.base.load(Ordering::Relaxed),
            self.mask.load(Ordering::Relaxed),
        );
        let size = size_of::<Option<(u64, V)>>();
        (mask != usize::MAX).then(|| base.wrapping_add((key as usize & mask).wrapping_mul(size)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A tiny deterministic generator (xorshift), so a failure replays.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Random inserts, removals and lookups against `HashMap`. Keys come
    /// from a small pool whose low bits mostly collide, so probes run long,
    /// wrap around the end and deletions shift entries back.
    #[test]
    fn behaves_like_a_map_under_collisions() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let pool: Vec<u64> = (0..300)
            .map(|i| {
                let low = if i % 3 == 0 { 15 } else { rng.next() % 4 };
                (rng.next() << 8) | low
            })
            .collect();
        let mut table = KeyTable::default();
        let mut model = HashMap::new();
        for step in 0..200_000u64 {
            let key = pool[(rng.next() % pool.len() as u64) as usize];
            match rng.next() % 3 {
                0 => {
                    let fresh = !model.contains_key(&key);
                    assert_eq!(table.insert_new(key, step).is_ok(), fresh);
                    model.entry(key).or_insert(step);
                }
                1 => assert_eq!(table.remove(key), model.remove(&key)),
                _ => assert_eq!(table.get(key), model.get(&key)),
            }
            assert_eq!(table.len, model.len());
        }
        for key in &pool {
            assert_eq!(table.get(*key), model.get(key));
        }
        let mut drained: Vec<(u64, u64)> = table.drain().collect();
        let mut expected: Vec<(u64, u64)> = model.into_iter().collect();
        drained.sort_unstable();
        expected.sort_unstable();
        assert_eq!(drained, expected);
        assert_eq!(table.get(pool[0]), None);
        assert!(table.insert_new(pool[0], 1).is_ok());
        assert_eq!(table.get(pool[0]), Some(&1));
    }

    #[test]
    fn the_hint_names_the_home_slot_as_the_table_grows_and_empties() {
        let mut table: KeyTable<u32> = KeyTable::default();
        let hint = SlotHint::default();
        let home = |t: &KeyTable<u32>, key: u64| std::ptr::from_ref(&t.slots[t.home(key)]) as usize;
        assert_eq!(hint.address(5), None);
        for k in 0..100u64 {
            table
                .insert_new(k.wrapping_mul(0x9E37_79B9_7F4A_7C15), 0)
                .unwrap();
            hint.update(&table);
            for probe in [0, 7, k, u64::MAX] {
                assert_eq!(hint.address(probe), Some(home(&table, probe)));
            }
        }
        table.drain().for_each(drop);
        hint.update(&table);
        assert_eq!(hint.address(5), None);
    }

    #[test]
    fn an_empty_table_finds_nothing_and_stays_three_quarters_full_at_most() {
        let mut table: KeyTable<u32> = KeyTable::default();
        assert_eq!(table.get(7), None);
        assert_eq!(table.remove(7), None);
        for k in 0..1000u32 {
            table
                .insert_new(u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15), k)
                .unwrap();
            assert!(table.len * 4 <= table.slots.len() * 3);
        }
        assert_eq!(table.slots.len(), 2048);
    }
}
