//! Atomic integers and bool with std's API, whose operations are scheduling points in a
//! simulation, so that `let b = x.load(); x.store(b + 1)` can lose an update there as it
//! does on real cores. The simulation is sequentially consistent whatever `Ordering` is
//! passed (it explores interleavings, not weak-memory reorderings).

pub use std::sync::atomic::Ordering;

use std::fmt::Debug;
use std::panic::Location;

use crate::runtime;
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

/// Runs `f` as one simulated step: a scheduling point, then the operation, then an event.
#[inline]
fn step<R: Debug>(
    addr: usize,
    kind: &'static str,
    name: Label,
    op: &'static str,
    arg: impl FnOnce() -> Option<String>,
    f: impl FnOnce() -> R,
) -> R {
    match runtime::current() {
        None => f(),
        Some(e) => sim_step(e, addr, kind, name, op, arg, f),
    }
}

#[cold]
fn sim_step<R: Debug>(
    e: &runtime::Execution,
    addr: usize,
    kind: &'static str,
    name: Label,
    op: &'static str,
    arg: impl FnOnce() -> Option<String>,
    f: impl FnOnce() -> R,
) -> R {
    if e.me().is_none() {
        return f();
    }
    e.point();
    let r = f();
    let id = {
        let st = e.lock();
        st.atomics.get(&addr).copied()
    };
    let id = id.unwrap_or_else(|| {
        let id = e.register_as(kind, name.naming());
        e.lock().atomics.insert(addr, id);
        id
    });
    let op = match arg() {
        Some(a) => format!("{op} {a}"),
        None => op.to_string(),
    };
    e.event(Some(id), op, Some(format!("{r:?}").into()), false);
    r
}

macro_rules! atomic_int {
    ($name:ident, $std:ident, $t:ty) => {
        #[doc = concat!("An atomic `", stringify!($t), "` (std's `", stringify!($std), "`) whose operations are scheduling points in a simulation.")]
        #[derive(Default)]
        pub struct $name {
            v: std::sync::atomic::$std,
            name: Label,
        }

        impl Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.v.fmt(f)
            }
        }

        impl $name {
            /// Creates the atomic, named in traces after what its creating line binds it to.
            #[track_caller]
            pub const fn new(v: $t) -> Self {
                $name { v: std::sync::atomic::$std::new(v), name: Label::Site(Location::caller()) }
            }

            /// Creates the atomic with an explicit name for traces: an override for tests.
            pub const fn named(name: &'static str, v: $t) -> Self {
                $name { v: std::sync::atomic::$std::new(v), name: Label::Name(name) }
            }

            fn addr(&self) -> usize {
                self as *const Self as usize
            }

            /// Loads the value.
            pub fn load(&self, order: Ordering) -> $t {
                step(self.addr(), stringify!($name), self.name, "load", || None, || self.v.load(order))
            }

            /// Stores a value.
            pub fn store(&self, val: $t, order: Ordering) {
                step(self.addr(), stringify!($name), self.name, "store", move || Some(val.to_string()), || self.v.store(val, order))
            }

            /// Stores a value and returns the previous one.
            pub fn swap(&self, val: $t, order: Ordering) -> $t {
                step(self.addr(), stringify!($name), self.name, "swap", move || Some(val.to_string()), || self.v.swap(val, order))
            }

            /// Adds to the value, returning the previous one.
            pub fn fetch_add(&self, val: $t, order: Ordering) -> $t {
                step(self.addr(), stringify!($name), self.name, "fetch_add", move || Some(val.to_string()), || self.v.fetch_add(val, order))
            }

            /// Subtracts from the value, returning the previous one.
            pub fn fetch_sub(&self, val: $t, order: Ordering) -> $t {
                step(self.addr(), stringify!($name), self.name, "fetch_sub", move || Some(val.to_string()), || self.v.fetch_sub(val, order))
            }

            /// Stores the maximum, returning the previous value.
            pub fn fetch_max(&self, val: $t, order: Ordering) -> $t {
                step(self.addr(), stringify!($name), self.name, "fetch_max", move || Some(val.to_string()), || self.v.fetch_max(val, order))
            }

            /// Stores `new` if the value is `current`.
            ///
            /// # Errors
            ///
            /// The actual value, if it was not `current`.
            pub fn compare_exchange(&self, current: $t, new: $t, success: Ordering, failure: Ordering) -> Result<$t, $t> {
                step(self.addr(), stringify!($name), self.name, "compare_exchange", move || Some(format!("{current}->{new}")), || {
                    self.v.compare_exchange(current, new, success, failure)
                })
            }

            /// Like [`Self::compare_exchange`]; never fails spuriously in a simulation.
            ///
            /// # Errors
            ///
            /// The actual value, if it was not `current` (or spuriously in real mode).
            pub fn compare_exchange_weak(&self, current: $t, new: $t, success: Ordering, failure: Ordering) -> Result<$t, $t> {
                step(self.addr(), stringify!($name), self.name, "compare_exchange_weak", move || Some(format!("{current}->{new}")), || {
                    self.v.compare_exchange_weak(current, new, success, failure)
                })
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
atomic_int!(AtomicU32, AtomicU32, u32);
atomic_int!(AtomicI32, AtomicI32, i32);
atomic_int!(AtomicU64, AtomicU64, u64);
atomic_int!(AtomicI64, AtomicI64, i64);

/// An atomic `bool` whose operations are scheduling points in a simulation.
#[derive(Default)]
pub struct AtomicBool {
    v: std::sync::atomic::AtomicBool,
    name: Label,
}

impl Debug for AtomicBool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.v.fmt(f)
    }
}

impl AtomicBool {
    /// Creates the atomic, named in traces after what its creating line binds it to.
    #[track_caller]
    pub const fn new(v: bool) -> Self {
        AtomicBool {
            v: std::sync::atomic::AtomicBool::new(v),
            name: Label::Site(Location::caller()),
        }
    }

    /// Creates the atomic with an explicit name for traces: an override for tests.
    pub const fn named(name: &'static str, v: bool) -> Self {
        AtomicBool {
            v: std::sync::atomic::AtomicBool::new(v),
            name: Label::Name(name),
        }
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    /// Loads the value.
    pub fn load(&self, order: Ordering) -> bool {
        step(
            self.addr(),
            "AtomicBool",
            self.name,
            "load",
            || None,
            || self.v.load(order),
        )
    }

    /// Stores a value.
    pub fn store(&self, val: bool, order: Ordering) {
        step(
            self.addr(),
            "AtomicBool",
            self.name,
            "store",
            move || Some(val.to_string()),
            || self.v.store(val, order),
        )
    }

    /// Stores a value and returns the previous one.
    pub fn swap(&self, val: bool, order: Ordering) -> bool {
        step(
            self.addr(),
            "AtomicBool",
            self.name,
            "swap",
            move || Some(val.to_string()),
            || self.v.swap(val, order),
        )
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
        step(
            self.addr(),
            "AtomicBool",
            self.name,
            "compare_exchange",
            move || Some(format!("{current}->{new}")),
            || self.v.compare_exchange(current, new, success, failure),
        )
    }

    /// Consumes the atomic and returns the value.
    pub fn into_inner(self) -> bool {
        self.v.into_inner()
    }
}
