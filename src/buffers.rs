//! Result buffers: allocated fallibly (a sweep can be asked for more
//! memory than the machine has, which must be an error, not an abort) and,
//! for the large ones, initialised where they are written rather than
//! zeroed up front.

use std::mem::MaybeUninit;

use crate::error::{Error, Result};

/// `n` zeros, or [`Error::OutOfMemory`] naming `what` when they cannot be
/// allocated (a run's or sweep's results can be asked to hold more than
/// the machine has; that must be an error, not an abort).
pub fn zeros(n: usize, what: &str) -> Result<Vec<f64>> {
    let mut v: Vec<f64> = Vec::new();
    let bytes = n as u128 * std::mem::size_of::<f64>() as u128;
    v.try_reserve_exact(n).map_err(|_| Error::OutOfMemory {
        what: what.to_string(),
        bytes,
    })?;
    v.resize(n, 0.0);
    Ok(v)
}

/// `cells` set to `value` and viewed as initialised: lets a buffer
/// reserved with [`reserved`] be filled where it is used (by each worker,
/// just before it writes its own part), instead of zeroed by one thread
/// up front, an extra pass that page-faults the whole buffer in serially.
pub fn init_fill<T: Copy>(cells: &mut [MaybeUninit<T>], value: T) -> &mut [T] {
    for c in cells.iter_mut() {
        c.write(value);
    }
    // SAFETY: every element was initialised just above, and
    // `MaybeUninit<T>` has the size, alignment and layout of `T`.
    unsafe { &mut *(cells as *mut [MaybeUninit<T>] as *mut [T]) }
}

/// `cells` set to a copy of `src` (as long as `cells`; panics otherwise,
/// like `copy_from_slice`) and viewed as initialised; see [`init_fill`].
pub fn init_copy<'a, T: Copy>(cells: &'a mut [MaybeUninit<T>], src: &[T]) -> &'a mut [T] {
    assert_eq!(cells.len(), src.len(), "init_copy: lengths differ");
    for (c, &v) in cells.iter_mut().zip(src) {
        c.write(v);
    }
    // SAFETY: as in `init_fill`: the lengths are equal, so every element
    // was written just above.
    unsafe { &mut *(cells as *mut [MaybeUninit<T>] as *mut [T]) }
}

/// An empty vector with room for `n` values, or [`Error::OutOfMemory`].
pub fn reserved<T>(n: usize, what: &str) -> Result<Vec<T>> {
    let mut v: Vec<T> = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::OutOfMemory {
        what: what.to_string(),
        bytes: n as u128 * std::mem::size_of::<T>() as u128,
    })?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_fill_and_init_copy_write_every_cell() {
        let mut v: Vec<u32> = reserved(6, "test").expect("6 values");
        let cells = &mut v.spare_capacity_mut()[..6];
        let (a, b) = cells.split_at_mut(2);
        assert_eq!(init_fill(a, 7), &[7, 7]);
        assert_eq!(init_copy(b, &[1, 2, 3, 4]), &[1, 2, 3, 4]);
        // SAFETY: both halves were initialised above.
        unsafe { v.set_len(6) };
        assert_eq!(v, [7, 7, 1, 2, 3, 4]);
    }

    #[test]
    #[should_panic(expected = "lengths differ")]
    fn init_copy_refuses_a_short_source() {
        let mut v: Vec<f64> = reserved(3, "test").expect("3 values");
        init_copy(&mut v.spare_capacity_mut()[..3], &[1.0, 2.0]);
    }

    #[test]
    fn an_impossible_reservation_is_an_error() {
        let e = reserved::<f64>(usize::MAX / 4, "the test's values").unwrap_err();
        assert!(matches!(e, Error::OutOfMemory { .. }), "{e}");
        assert!(e.to_string().contains("the test's values"), "{e}");
    }
}
