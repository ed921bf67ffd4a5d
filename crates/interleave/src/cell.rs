//! A cell for data that threads hand to each other through atomics, whose accesses an
//! exploration checks against the weak memory model: the data a ticket lock protects,
//! the slots of a ring buffer, a value published behind a flag.
//!
//! [`UnsafeCell`] has loom's API (`with`, `with_mut`): each access says whether it reads
//! or writes. In an exploration with the weak memory model (the default), an access
//! that is not ordered by happens-before after the conflicting ones (a read after the
//! last write, a write after every read and write) fails the schedule with a data race
//! that names both accesses and, when the reader looked at an atomic the writer had
//! stored, which ordering was missing ("T2's Acquire load of `now_serving` read a value
//! T1 stored with Relaxed..."). In real mode it is std's `UnsafeCell` and the closures
//! run on its pointer, with nothing else.

use std::fmt;
use std::panic::Location;

use crate::runtime::{self, text::Text};
use crate::sync::atomic::{Label, SimCell};

/// std's `UnsafeCell` with loom's API: reads go through [`UnsafeCell::with`], writes
/// through [`UnsafeCell::with_mut`], so that an exploration can check that every access
/// is ordered after the ones it conflicts with (see the module documentation).
///
/// # Examples
///
/// ```
/// use interleave::cell::UnsafeCell;
///
/// let c = UnsafeCell::new(1);
/// // SAFETY: no other access to the cell is alive.
/// c.with_mut(|p| unsafe { *p += 1 });
/// // SAFETY: as above.
/// assert_eq!(c.with(|p| unsafe { *p }), 2);
/// ```
pub struct UnsafeCell<T: ?Sized> {
    name: Label,
    sim: SimCell,
    data: std::cell::UnsafeCell<T>,
}

impl<T> UnsafeCell<T> {
    /// A cell holding `value`, named in traces after what its creating line binds it to.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        UnsafeCell {
            name: Label::Site(Location::caller()),
            sim: SimCell::new(),
            data: std::cell::UnsafeCell::new(value),
        }
    }

    /// A cell with an explicit name for traces and reports (`"the value under the
    /// lock"`).
    pub const fn named(name: &'static str, value: T) -> Self {
        UnsafeCell {
            name: Label::Name(name),
            sim: SimCell::new(),
            data: std::cell::UnsafeCell::new(value),
        }
    }

    /// Consumes the cell and returns the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> UnsafeCell<T> {
    /// Reads the value through a pointer: a read access. Dereferencing the pointer is the
    /// caller's responsibility, as with std's `UnsafeCell::get`.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        self.access(false);
        f(self.data.get())
    }

    /// Writes the value through a pointer: a write access (a read-modify-write counts as
    /// a write).
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        self.access(true);
        f(self.data.get())
    }

    /// A mutable reference to the value (no check: the borrow is exclusive).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    #[inline]
    fn access(&self, write: bool) {
        if let Some(e) = runtime::current() {
            sim_access(e, &self.sim, self.name, write);
        }
    }
}

#[cold]
fn sim_access(e: &crate::runtime::Execution, sim: &SimCell, name: Label, write: bool) {
    if e.me().is_none() {
        return;
    }
    let id = sim.id(e, "UnsafeCell", name);
    e.mem_cell(id, write);
    let what = if write { "write" } else { "read" };
    e.event_text(Some(id), Text::Static(what), None);
}

impl<T: Default> Default for UnsafeCell<T> {
    #[track_caller]
    fn default() -> Self {
        UnsafeCell::new(T::default())
    }
}

impl<T> From<T> for UnsafeCell<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        UnsafeCell::new(value)
    }
}

impl<T: ?Sized> fmt::Debug for UnsafeCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnsafeCell { .. }")
    }
}
