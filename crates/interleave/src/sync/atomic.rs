//! Atomic integers and bool with std's API, whose operations are scheduling points in a
//! simulation, so that `let b = x.load(); x.store(b + 1)` can lose an update there as it
//! does on real cores. The simulation is sequentially consistent whatever `Ordering` is
//! passed (it explores interleavings, not weak-memory reorderings).
//!
//! Every operation goes through one function, [`op`], with the kind of access it makes
//! ([`Access`]) and its orderings: the place where a model of weak memory would decide
//! what a load may see. In real mode the operation is std's, behind one check.

pub use std::sync::atomic::Ordering;

use std::fmt::Debug;
use std::panic::Location;
use std::sync::atomic::AtomicU64 as StdAtomicU64;

use crate::runtime::text::{Text, ToVal};
use crate::runtime::{self, Execution, ObjId};
use crate::site::Naming;

/// How an atomic is named in traces: explicitly (`named`), after its creation site
/// (`new`, see `crate::site`), or `Kind#n`. It is registered at its first use.
#[derive(Clone, Copy, Debug, Default)]
enum Label {
    #[default]
    Anonymous,
    Name(&'static str),
    Site(&'static Location<'static>),
}

impl Label {
    fn naming(self) -> Naming {
        match self {
            Label::Anonymous => Naming::Anonymous,
            Label::Name(n) => Naming::Explicit(n.to_string()),
            Label::Site(s) => Naming::Site(s),
        }
    }
}

/// What an operation does to the atomic, with its orderings.
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // The orderings are for a memory model to come.
enum Access {
    Load(Ordering),
    Store(Ordering),
    /// A read-modify-write (swap, fetch_*, a successful compare-exchange).
    Rmw(Ordering),
    /// A compare-exchange: the success and failure orderings.
    Cas(Ordering, Ordering),
}

/// The atomic's object in the current simulation, remembered in the atomic itself (the
/// execution's generation in the high half, the object id in the low half), so that an
/// operation needs no lookup. Only the simulation's OS thread writes it.
#[derive(Default)]
struct SimCell(StdAtomicU64);

impl SimCell {
    const fn new() -> Self {
        SimCell(StdAtomicU64::new(0))
    }

    fn id(&self, e: &Execution, kind: &'static str, name: Label) -> ObjId {
        let generation = e.generation & 0xFFFF_FFFF;
        let v = self.0.load(std::sync::atomic::Ordering::Relaxed);
        if v >> 32 == generation && v & 0xFFFF_FFFF != 0 {
            return (v & 0xFFFF_FFFF) as ObjId - 1;
        }
        let id = e.register_as(kind, name.naming());
        let packed = (generation << 32) | ((id as u64 + 1) & 0xFFFF_FFFF);
        self.0.store(packed, std::sync::atomic::Ordering::Relaxed);
        id
    }
}

/// Runs `f` as one simulated step: a scheduling point, then the operation, then an
/// event whose words are put together only if the trace is shown. Outside a
/// simulation (or from its scheduler context), just `f`.
#[inline]
#[allow(clippy::too_many_arguments)]
fn op<R>(
    cell: &SimCell,
    kind: &'static str,
    name: Label,
    access: Access,
    text: impl FnOnce() -> Text,
    f: impl FnOnce() -> R,
    outcome: impl FnOnce(&R) -> Text,
) -> R {
    match runtime::current() {
        None => f(),
        Some(e) => sim_op(e, cell, kind, name, access, text, f, outcome),
    }
}

#[cold]
#[allow(clippy::too_many_arguments)]
fn sim_op<R>(
    e: &Execution,
    cell: &SimCell,
    kind: &'static str,
    name: Label,
    _access: Access,
    text: impl FnOnce() -> Text,
    f: impl FnOnce() -> R,
    outcome: impl FnOnce(&R) -> Text,
) -> R {
    if e.me().is_none() {
        return f();
    }
    e.point();
    let r = f();
    let id = cell.id(e, kind, name);
    e.event_text(Some(id), text(), Some(outcome(&r)));
    r
}

fn val<T: ToVal>(r: &T) -> Text {
    Text::Val(r.to_val())
}

fn res<T: ToVal>(r: &Result<T, T>) -> Text {
    match r {
        Ok(v) => Text::Res(true, v.to_val()),
        Err(v) => Text::Res(false, v.to_val()),
    }
}

macro_rules! atomic_int {
    ($name:ident, $std:ident, $t:ty) => {
        #[doc = concat!("An atomic `", stringify!($t), "` (std's `", stringify!($std), "`) whose operations are scheduling points in a simulation.")]
        #[derive(Default)]
        pub struct $name {
            v: std::sync::atomic::$std,
            name: Label,
            sim: SimCell,
        }

        impl Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.v.fmt(f)
            }
        }

        impl From<$t> for $name {
            #[track_caller]
            fn from(v: $t) -> Self {
                $name::new(v)
            }
        }

        impl $name {
            /// Creates the atomic, named in traces after what its creating line binds it to.
            #[track_caller]
            pub const fn new(v: $t) -> Self {
                $name { v: std::sync::atomic::$std::new(v), name: Label::Site(Location::caller()), sim: SimCell::new() }
            }

            /// Creates the atomic with an explicit name for traces: an override for tests.
            pub const fn named(name: &'static str, v: $t) -> Self {
                $name { v: std::sync::atomic::$std::new(v), name: Label::Name(name), sim: SimCell::new() }
            }

            #[inline]
            fn op<R>(
                &self,
                access: Access,
                text: impl FnOnce() -> Text,
                f: impl FnOnce() -> R,
                outcome: impl FnOnce(&R) -> Text,
            ) -> R {
                op(&self.sim, stringify!($name), self.name, access, text, f, outcome)
            }

            /// Loads the value.
            pub fn load(&self, order: Ordering) -> $t {
                self.op(Access::Load(order), || Text::Static("load"), || self.v.load(order), val)
            }

            /// Stores a value.
            pub fn store(&self, val: $t, order: Ordering) {
                self.op(Access::Store(order), || Text::Op("store", val.to_val()), || self.v.store(val, order), |r| Text::Val(r.to_val()))
            }

            /// Stores a value and returns the previous one.
            pub fn swap(&self, val: $t, order: Ordering) -> $t {
                self.op(Access::Rmw(order), || Text::Op("swap", val.to_val()), || self.v.swap(val, order), self::val)
            }

            /// Adds to the value (wrapping around on overflow), returning the previous one.
            pub fn fetch_add(&self, val: $t, order: Ordering) -> $t {
                self.op(Access::Rmw(order), || Text::Op("fetch_add", val.to_val()), || self.v.fetch_add(val, order), self::val)
            }

            /// Subtracts from the value (wrapping around on overflow), returning the
            /// previous one.
            pub fn fetch_sub(&self, val: $t, order: Ordering) -> $t {
                self.op(Access::Rmw(order), || Text::Op("fetch_sub", val.to_val()), || self.v.fetch_sub(val, order), self::val)
            }

            /// Bitwise "and" with the value, returning the previous one.
            pub fn fetch_and(&self, val: $t, order: Ordering) -> $t {
                self.op(Access::Rmw(order), || Text::Op("fetch_and", val.to_val()), || self.v.fetch_and(val, order), self::val)
            }

            /// Bitwise "nand" with the value, returning the previous one.
            pub fn fetch_nand(&self, val: $t, order: Ordering) -> $t {
                self.op(Access::Rmw(order), || Text::Op("fetch_nand", val.to_val()), || self.v.fetch_nand(val, order), self::val)
            }

            /// Bitwise "or" with the value, returning the previous one.
            pub fn fetch_or(&self, val: $t, order: Ordering) -> $t {
                self.op(Access::Rmw(order), || Text::Op("fetch_or", val.to_val()), || self.v.fetch_or(val, order), self::val)
            }

            /// Bitwise "xor" with the value, returning the previous one.
            pub fn fetch_xor(&self, val: $t, order: Ordering) -> $t {
                self.op(Access::Rmw(order), || Text::Op("fetch_xor", val.to_val()), || self.v.fetch_xor(val, order), self::val)
            }

            /// Stores the maximum of the value and `val`, returning the previous value.
            pub fn fetch_max(&self, val: $t, order: Ordering) -> $t {
                self.op(Access::Rmw(order), || Text::Op("fetch_max", val.to_val()), || self.v.fetch_max(val, order), self::val)
            }

            /// Stores the minimum of the value and `val`, returning the previous value.
            pub fn fetch_min(&self, val: $t, order: Ordering) -> $t {
                self.op(Access::Rmw(order), || Text::Op("fetch_min", val.to_val()), || self.v.fetch_min(val, order), self::val)
            }

            /// Stores `new` if the value is `current`.
            ///
            /// # Errors
            ///
            /// The actual value, if it was not `current`.
            pub fn compare_exchange(&self, current: $t, new: $t, success: Ordering, failure: Ordering) -> Result<$t, $t> {
                self.op(
                    Access::Cas(success, failure),
                    || Text::Op2("compare_exchange", current.to_val(), new.to_val()),
                    || self.v.compare_exchange(current, new, success, failure),
                    res,
                )
            }

            /// Like [`Self::compare_exchange`]; never fails spuriously in a simulation.
            ///
            /// # Errors
            ///
            /// The actual value, if it was not `current` (or spuriously in real mode).
            pub fn compare_exchange_weak(&self, current: $t, new: $t, success: Ordering, failure: Ordering) -> Result<$t, $t> {
                self.op(
                    Access::Cas(success, failure),
                    || Text::Op2("compare_exchange_weak", current.to_val(), new.to_val()),
                    || self.v.compare_exchange_weak(current, new, success, failure),
                    res,
                )
            }

            /// Fetches the value and applies `f` to it, storing the result if `f` returns
            /// `Some`, as std does: a load, then a `compare_exchange_weak` that retries
            /// (calling `f` again) if another thread changed the value in between, which
            /// a simulation can make happen.
            ///
            /// # Errors
            ///
            /// The value `f` was last called with, if it returned `None`.
            pub fn fetch_update<F>(&self, set_order: Ordering, fetch_order: Ordering, mut f: F) -> Result<$t, $t>
            where
                F: FnMut($t) -> Option<$t>,
            {
                let mut prev = self.load(fetch_order);
                while let Some(next) = f(prev) {
                    match self.compare_exchange_weak(prev, next, set_order, fetch_order) {
                        Ok(x) => return Ok(x),
                        Err(next_prev) => prev = next_prev,
                    }
                }
                Err(prev)
            }

            /// A mutable reference to the value (no synchronisation needed: the borrow is
            /// exclusive; not a scheduling point).
            pub fn get_mut(&mut self) -> &mut $t {
                self.v.get_mut()
            }

            /// Consumes the atomic and returns the value.
            pub fn into_inner(self) -> $t {
                self.v.into_inner()
            }
        }
    };
}

atomic_int!(AtomicUsize, AtomicUsize, usize);
atomic_int!(AtomicIsize, AtomicIsize, isize);
atomic_int!(AtomicU8, AtomicU8, u8);
atomic_int!(AtomicI8, AtomicI8, i8);
atomic_int!(AtomicU16, AtomicU16, u16);
atomic_int!(AtomicI16, AtomicI16, i16);
atomic_int!(AtomicU32, AtomicU32, u32);
atomic_int!(AtomicI32, AtomicI32, i32);
atomic_int!(AtomicU64, AtomicU64, u64);
atomic_int!(AtomicI64, AtomicI64, i64);

/// An atomic `bool` whose operations are scheduling points in a simulation.
#[derive(Default)]
pub struct AtomicBool {
    v: std::sync::atomic::AtomicBool,
    name: Label,
    sim: SimCell,
}

impl Debug for AtomicBool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.v.fmt(f)
    }
}

impl From<bool> for AtomicBool {
    #[track_caller]
    fn from(v: bool) -> Self {
        AtomicBool::new(v)
    }
}

impl AtomicBool {
    /// Creates the atomic, named in traces after what its creating line binds it to.
    #[track_caller]
    pub const fn new(v: bool) -> Self {
        AtomicBool {
            v: std::sync::atomic::AtomicBool::new(v),
            name: Label::Site(Location::caller()),
            sim: SimCell::new(),
        }
    }

    /// Creates the atomic with an explicit name for traces: an override for tests.
    pub const fn named(name: &'static str, v: bool) -> Self {
        AtomicBool {
            v: std::sync::atomic::AtomicBool::new(v),
            name: Label::Name(name),
            sim: SimCell::new(),
        }
    }

    #[inline]
    fn op<R>(
        &self,
        access: Access,
        text: impl FnOnce() -> Text,
        f: impl FnOnce() -> R,
        outcome: impl FnOnce(&R) -> Text,
    ) -> R {
        op(&self.sim, "AtomicBool", self.name, access, text, f, outcome)
    }

    fn rmw(
        &self,
        what: &'static str,
        val: bool,
        order: Ordering,
        f: impl FnOnce() -> bool,
    ) -> bool {
        self.op(
            Access::Rmw(order),
            || Text::Op(what, val.to_val()),
            f,
            self::val,
        )
    }

    /// Loads the value.
    pub fn load(&self, order: Ordering) -> bool {
        self.op(
            Access::Load(order),
            || Text::Static("load"),
            || self.v.load(order),
            val,
        )
    }

    /// Stores a value.
    pub fn store(&self, val: bool, order: Ordering) {
        self.op(
            Access::Store(order),
            || Text::Op("store", val.to_val()),
            || self.v.store(val, order),
            |r| Text::Val(r.to_val()),
        )
    }

    /// Stores a value and returns the previous one.
    pub fn swap(&self, val: bool, order: Ordering) -> bool {
        self.rmw("swap", val, order, || self.v.swap(val, order))
    }

    /// Logical "and" with the value, returning the previous one.
    pub fn fetch_and(&self, val: bool, order: Ordering) -> bool {
        self.rmw("fetch_and", val, order, || self.v.fetch_and(val, order))
    }

    /// Logical "nand" with the value, returning the previous one.
    pub fn fetch_nand(&self, val: bool, order: Ordering) -> bool {
        self.rmw("fetch_nand", val, order, || self.v.fetch_nand(val, order))
    }

    /// Logical "or" with the value, returning the previous one.
    pub fn fetch_or(&self, val: bool, order: Ordering) -> bool {
        self.rmw("fetch_or", val, order, || self.v.fetch_or(val, order))
    }

    /// Logical "xor" with the value, returning the previous one.
    pub fn fetch_xor(&self, val: bool, order: Ordering) -> bool {
        self.rmw("fetch_xor", val, order, || self.v.fetch_xor(val, order))
    }

    /// Stores `new` if the value is `current`.
    ///
    /// # Errors
    ///
    /// The actual value, if it was not `current`.
    pub fn compare_exchange(
        &self,
        current: bool,
        new: bool,
        success: Ordering,
        failure: Ordering,
    ) -> Result<bool, bool> {
        self.op(
            Access::Cas(success, failure),
            || Text::Op2("compare_exchange", current.to_val(), new.to_val()),
            || self.v.compare_exchange(current, new, success, failure),
            res,
        )
    }

    /// Like [`Self::compare_exchange`]; never fails spuriously in a simulation.
    ///
    /// # Errors
    ///
    /// The actual value, if it was not `current` (or spuriously in real mode).
    pub fn compare_exchange_weak(
        &self,
        current: bool,
        new: bool,
        success: Ordering,
        failure: Ordering,
    ) -> Result<bool, bool> {
        self.op(
            Access::Cas(success, failure),
            || Text::Op2("compare_exchange_weak", current.to_val(), new.to_val()),
            || self.v.compare_exchange_weak(current, new, success, failure),
            res,
        )
    }

    /// Fetches the value and applies `f` to it, storing the result if `f` returns `Some`,
    /// as std does (a load, then `compare_exchange_weak` until it succeeds).
    ///
    /// # Errors
    ///
    /// The value `f` was last called with, if it returned `None`.
    pub fn fetch_update<F>(
        &self,
        set_order: Ordering,
        fetch_order: Ordering,
        mut f: F,
    ) -> Result<bool, bool>
    where
        F: FnMut(bool) -> Option<bool>,
    {
        let mut prev = self.load(fetch_order);
        while let Some(next) = f(prev) {
            match self.compare_exchange_weak(prev, next, set_order, fetch_order) {
                Ok(x) => return Ok(x),
                Err(next_prev) => prev = next_prev,
            }
        }
        Err(prev)
    }

    /// A mutable reference to the value (not a scheduling point).
    pub fn get_mut(&mut self) -> &mut bool {
        self.v.get_mut()
    }

    /// Consumes the atomic and returns the value.
    pub fn into_inner(self) -> bool {
        self.v.into_inner()
    }
}
