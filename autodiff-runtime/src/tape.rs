//! The records a loop's forward run keeps for its adjoint.

/// Appends `entry` to `tape`, whose capacity the generated code reserved for every iteration
/// of a range before the loop: no reallocation inside the loop. A reallocation is a call
/// that returns, around which the loop's floats could not stay in registers (the SysV ABI
/// saves none of them); the full-tape case here only panics, which returns nothing to save
/// for. A range yields exactly the items its `size_hint` announces, so that never happens.
#[inline(always)]
pub fn record<T>(tape: &mut Vec<T>, entry: T) {
    let len = tape.len();
    if len == tape.capacity() {
        full();
    }
    // SAFETY: `len < capacity`, so slot `len` is allocated and unused; it is written before
    // the length covers it.
    unsafe {
        tape.as_mut_ptr().add(len).write(entry);
        tape.set_len(len + 1);
    }
}

#[cold]
#[inline(never)]
fn full() -> ! {
    panic!("autodiff: a loop over a range ran more iterations than the range announced")
}

#[cfg(test)]
mod tests {
    use super::record;

    #[test]
    fn records_within_the_reserved_capacity() {
        let mut tape: Vec<(f64, usize)> = Vec::with_capacity(3);
        for i in 0..3 {
            record(&mut tape, (i as f64 * 0.5, i));
        }
        assert_eq!(tape, [(0.0, 0), (0.5, 1), (1.0, 2)]);
    }

    #[test]
    #[should_panic(expected = "more iterations than the range announced")]
    fn a_full_tape_panics() {
        let mut tape: Vec<String> = Vec::with_capacity(1);
        record(&mut tape, "a".to_owned());
        while tape.len() < tape.capacity() {
            record(&mut tape, "b".to_owned());
        }
        record(&mut tape, "c".to_owned());
    }
}
