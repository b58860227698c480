//! Whole-vector results shared by the elements of one array builtin call.
//!
//! Array builtins that need a whole vector (VECTOR SORT ORDER, INVERT
//! MATRIX, ALLOCATE AVAILABLE) are scalarised into one call per element, each passing every
//! element of the input. Computing the whole result inside each of the `n`
//! calls would cost `n` times the function's own cost per step (a 1,000
//! element sort order took half a second per step). Instead the first call
//! computes every element's result, and the other calls of the same step
//! (same function, bit-identical inputs) read theirs.
//!
//! Results live in a small per-thread ring: one entry per distinct input,
//! enough for every lane of a batched sweep batch to keep its own. Buffers
//! are reused, so once warm nothing is allocated; results are those of a
//! pure function, so the cache never changes a value.

use std::cell::RefCell;

/// Distinct inputs remembered per thread (at least the widest sweep batch).
const ENTRIES: usize = 128;

#[derive(Default)]
struct Entry {
    tag: u8,
    hash: u64,
    key: Vec<u64>,
    out: Vec<f64>,
}

#[derive(Default)]
struct Memo {
    entries: Vec<Entry>,
    next: usize,
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// Which function a result belongs to.
pub const SORT_ORDER: u8 = 1;
pub const INVERT_MATRIX: u8 = 2;
pub const ALLOCATE: u8 = 3;
pub const ALLOCATE_ISEE: u8 = 4;
pub const RANK_TIEBREAK: u8 = 5;

/// Element `index` of `compute(key)` (NaN past its end), computing the
/// whole result at most once per distinct `(tag, key)` while it stays in
/// the ring.
pub fn element(tag: u8, key: &[f64], index: usize, compute: fn(&[f64], &mut Vec<f64>)) -> f64 {
    let hash = hash(tag, key);
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let hit = memo.entries.iter().position(|e| {
            e.hash == hash
                && e.tag == tag
                && e.key.len() == key.len()
                && e.key.iter().zip(key).all(|(a, b)| *a == b.to_bits())
        });
        let at = match hit {
            Some(i) => i,
            None => {
                let i = memo.next;
                memo.next = (i + 1) % ENTRIES;
                if memo.entries.len() <= i {
                    memo.entries.push(Entry::default());
                }
                let e = &mut memo.entries[i];
                e.tag = tag;
                e.hash = hash;
                e.key.clear();
                e.key.extend(key.iter().map(|x| x.to_bits()));
                e.out.clear();
                compute(key, &mut e.out);
                i
            }
        };
        memo.entries[at].out.get(index).copied().unwrap_or(f64::NAN)
    })
}

/// A fast non-cryptographic hash of the bits (FxHash's mixing step).
fn hash(tag: u8, key: &[f64]) -> u64 {
    let mut h = u64::from(tag);
    for x in key {
        h = (h.rotate_left(5) ^ x.to_bits()).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        // Per thread, like the ring, so tests running in parallel do not mix.
        static CALLS: Cell<usize> = const { Cell::new(0) };
    }

    fn calls() -> usize {
        CALLS.with(Cell::get)
    }

    fn doubled(key: &[f64], out: &mut Vec<f64>) {
        CALLS.with(|c| c.set(c.get() + 1));
        out.extend(key.iter().map(|x| x * 2.0));
    }

    #[test]
    fn computes_once_per_distinct_input() {
        // Thread-local: this test's thread starts with an empty ring.
        let before = calls();
        let a = [1.0, 2.0, 3.0];
        let b = [1.0, 2.0, 4.0];
        assert_eq!(element(200, &a, 0, doubled), 2.0);
        assert_eq!(element(200, &b, 2, doubled), 8.0);
        assert_eq!(element(200, &a, 2, doubled), 6.0);
        assert_eq!(element(200, &b, 1, doubled), 4.0);
        assert!(element(200, &a, 3, doubled).is_nan());
        assert_eq!(calls() - before, 2);
        // Another tag with the same key is another function.
        assert_eq!(element(201, &a, 1, doubled), 4.0);
        assert_eq!(calls() - before, 3);
        // -0.0 and 0.0 differ in bits: a separate (still correct) entry.
        assert_eq!(element(200, &[-0.0], 0, doubled), -0.0);
        assert_eq!(element(200, &[0.0], 0, doubled), 0.0);
    }

    #[test]
    fn evicted_entries_are_recomputed_correctly() {
        for round in 0..2 {
            for k in 0..(ENTRIES + 10) {
                let key = [k as f64, round as f64];
                assert_eq!(element(202, &key, 1, doubled), 2.0 * round as f64);
                assert_eq!(element(202, &key, 0, doubled), 2.0 * k as f64);
            }
        }
    }
}
