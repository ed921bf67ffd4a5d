//! The text of a trace event, recorded without formatting: a passing schedule never
//! renders its trace, so the hot path stores numbers and static strings, and the words
//! are put together only when a trace is shown ([`crate::runtime::execution::State::resolve`]).

use std::borrow::Cow;
use std::fmt::{self, Write};

use super::thread::Tid;

/// A value as `{:?}` prints it: an atomic's integer or bool, or `()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Val {
    Unit,
    Bool(bool),
    Int(i64),
    UInt(u64),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Unit => f.write_str("()"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(i) => write!(f, "{i}"),
            Val::UInt(u) => write!(f, "{u}"),
        }
    }
}

/// Values that a trace records as a [`Val`].
pub(crate) trait ToVal: Copy {
    fn to_val(self) -> Val;
}

impl ToVal for () {
    fn to_val(self) -> Val {
        Val::Unit
    }
}

impl ToVal for bool {
    fn to_val(self) -> Val {
        Val::Bool(self)
    }
}

macro_rules! to_val {
    ($variant:ident, $wide:ty: $($t:ty),*) => {
        $(impl ToVal for $t {
            fn to_val(self) -> Val {
                Val::$variant(self as $wide)
            }
        })*
    };
}
to_val!(Int, i64: i8, i16, i32, i64, isize);
to_val!(UInt, u64: u8, u16, u32, u64, usize);

/// The text of an operation or of its outcome.
#[derive(Clone, Debug)]
pub(crate) enum Text {
    /// Words known at compile time (`lock`, `acquired`).
    Static(&'static str),
    /// Words formatted by the caller.
    Owned(String),
    /// A value: `5`, `true`, `()`.
    Val(Val),
    /// A result: `Ok(5)`, `Err(3)`.
    Res(bool, Val),
    /// An operation and its argument: `store 5`.
    Op(&'static str, Val),
    /// An operation and two arguments: `compare_exchange 1->2`.
    Op2(&'static str, Val, Val),
    /// Words and a thread's name: `spawn T3`, `wakes T2`.
    Thread(&'static str, Tid),
    /// Words, a thread's name, more words: `wakes T2 (why)`.
    Thread2(&'static str, Tid, &'static str),
}

impl From<Cow<'static, str>> for Text {
    fn from(c: Cow<'static, str>) -> Self {
        match c {
            Cow::Borrowed(s) => Text::Static(s),
            Cow::Owned(s) => Text::Owned(s),
        }
    }
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Self {
        Text::Static(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::Owned(s)
    }
}

impl Text {
    /// The words, with thread names looked up by `name`.
    pub(crate) fn render(&self, name: impl Fn(Tid) -> String) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = match self {
            Text::Static(t) => s.write_str(t),
            Text::Owned(t) => s.write_str(t),
            Text::Val(v) => write!(s, "{v}"),
            Text::Res(ok, v) => write!(s, "{}({v})", if *ok { "Ok" } else { "Err" }),
            Text::Op(op, v) => write!(s, "{op} {v}"),
            Text::Op2(op, a, b) => write!(s, "{op} {a}->{b}"),
            Text::Thread(words, t) => write!(s, "{words} {}", name(*t)),
            Text::Thread2(a, t, b) => write!(s, "{a} {} {b}", name(*t)),
        };
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(t: Text) -> String {
        t.render(|t| format!("T{t}"))
    }

    #[test]
    fn values_render_as_debug_does() {
        assert_eq!(r(Text::Val(().to_val())), format!("{:?}", ()));
        assert_eq!(r(Text::Val(true.to_val())), format!("{:?}", true));
        assert_eq!(r(Text::Val((-3i32).to_val())), format!("{:?}", -3i32));
        assert_eq!(r(Text::Val(u64::MAX.to_val())), format!("{:?}", u64::MAX));
        assert_eq!(r(Text::Val(i64::MIN.to_val())), format!("{:?}", i64::MIN));
        let ok: Result<u32, u32> = Ok(5);
        assert_eq!(r(Text::Res(true, 5u32.to_val())), format!("{ok:?}"));
        let err: Result<bool, bool> = Err(false);
        assert_eq!(r(Text::Res(false, false.to_val())), format!("{err:?}"));
    }

    #[test]
    fn operations_render_with_their_arguments() {
        assert_eq!(r(Text::Op("store", 5usize.to_val())), "store 5");
        assert_eq!(
            r(Text::Op2("compare_exchange", 1i32.to_val(), 2i32.to_val())),
            "compare_exchange 1->2"
        );
        assert_eq!(r(Text::Thread("spawn", 3)), "spawn T3");
        assert_eq!(r(Text::Thread2("wakes", 2, "(why)")), "wakes T2 (why)");
        assert_eq!(r(Text::from("lock")), "lock");
        assert_eq!(r(Text::from(String::from("x"))), "x");
    }
}
