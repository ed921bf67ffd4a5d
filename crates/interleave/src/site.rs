//! Names of simulated objects, taken from the place that creates them.
//!
//! Student code creates objects with the real crates' constructors (`Mutex::new`,
//! `Condvar::new`, `unbounded()`), which take no name. The constructors are
//! `#[track_caller]`, so the facade knows the file, line and column of the call; this
//! module reads that source line (and the lines around it when the expression spans
//! several) and finds what the object is bound to:
//!
//! | creation site                                         | name                 |
//! |-------------------------------------------------------|----------------------|
//! | `balance: Mutex::new(initial),` (a struct field)      | `balance`            |
//! | `state: Mutex::new(..)` in `Cache { .. }` (a field named `state`, `inner`...) | `cache` |
//! | `inside: Monitor::new(..)` in `Tunnel { .. }` (a monitor: the struct it implements) | `tunnel` |
//! | `let m = Arc::new(Mutex::new(0));`                    | `m`                  |
//! | `let pair = Arc::new((Mutex::new(false), Condvar::new()));` | `pair.0`, `pair.1` |
//! | `forks: (0..n).map(\|_\| Mutex::new(())).collect(),`  | `fork 0`, `fork 1`.. |
//! | `me: (0..n).map(\|_\| Condition::new()).collect(),`   | `me[0]`, `me[1]`...  |
//! | `let (results_tx, results_rx) = unbounded();`         | `results`            |
//! | `let (tx, rx) = unbounded();` then `Client { requests: tx }` | `requests`    |
//! | `let (tx, rx) = unbounded();` then `Mailbox { owner, tx, rx }` | `mailbox`   |
//! | `let (tx, rx) = bounded(1);` and nothing more                 | `Channel#n`  |
//! | `#[derive(Default)] struct S { lock: Mutex<u32> }`    | `lock`               |
//!
//! A site that creates several objects in one execution (a loop, an iterator closure)
//! numbers them in creation order: `fork 2` for a plural binding, `me[2]` otherwise; a
//! single site reached again (two accounts in one test) gives `balance`, `balance#2`.
//! Names are stable: they depend on the source and the order of creation only. When the
//! source cannot be read (a binary run away from its sources) or says nothing useful,
//! the name is `Kind#n` as before; `named` constructors override everything.

use std::collections::HashMap;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

/// How a new object is named: explicitly (`Mutex::named`), or from its creation site.
#[derive(Clone, Debug)]
pub(crate) enum Naming {
    /// A name chosen by the caller.
    Explicit(String),
    /// The place that created the object.
    Site(&'static Location<'static>),
    /// No information: `Kind#n`.
    Anonymous,
}

/// What a creation site says about the objects it creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SiteName {
    /// The binding (`balance`, `forks`, `pair.1`).
    pub(crate) base: String,
    /// True if the site creates one object per iteration (a loop, an iterator closure).
    pub(crate) repeated: bool,
    /// For `#[derive(Default)]` sites: the fields of the kind, in declaration order.
    pub(crate) fields: Vec<String>,
}

impl SiteName {
    /// The name of the `k`-th object (from 0) created at this site in one execution.
    pub(crate) fn nth(&self, k: usize) -> String {
        if !self.fields.is_empty() {
            let field = &self.fields[k % self.fields.len()];
            let round = k / self.fields.len();
            return if round == 0 {
                field.clone()
            } else {
                format!("{field}#{}", round + 1)
            };
        }
        if self.repeated {
            match singular(&self.base) {
                Some(one) => format!("{one} {k}"),
                None => format!("{}[{k}]", self.base),
            }
        } else if k == 0 {
            self.base.clone()
        } else {
            format!("{}#{}", self.base, k + 1)
        }
    }
}

/// The singular of a plural identifier (`forks` -> `fork`), if it looks plural.
fn singular(word: &str) -> Option<String> {
    if word.len() < 3 || !word.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return Some(format!("{stem}y"));
    }
    for es in ["sses", "shes", "ches", "xes"] {
        if word.ends_with(es) {
            return Some(word[..word.len() - 2].to_string());
        }
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return None;
    }
    word.strip_suffix('s').map(str::to_string)
}

type SiteKey = (usize, u32, u32, &'static str);

/// The name a site gives, derived once per site and kind and cached for the process.
pub(crate) fn site_name(loc: &'static Location<'static>, kind: &'static str) -> Option<SiteName> {
    static CACHE: OnceLock<Mutex<HashMap<SiteKey, Option<SiteName>>>> = OnceLock::new();
    let key = (loc.file().as_ptr() as usize, loc.line(), loc.column(), kind);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().get(&key) {
        return hit.clone();
    }
    let derived = source(loc.file()).and_then(|src| derive(&src, loc.line(), loc.column(), kind));
    cache.lock().insert(key, derived.clone());
    derived
}

/// The masked text of a source file (comments and literals blanked), cached per path.
pub(crate) fn source(file: &'static str) -> Option<Arc<Vec<char>>> {
    type Masked = Option<Arc<Vec<char>>>;
    static FILES: OnceLock<Mutex<HashMap<&'static str, Masked>>> = OnceLock::new();
    let files = FILES.get_or_init(Default::default);
    if let Some(hit) = files.lock().get(file) {
        return hit.clone();
    }
    let text = locate(file).and_then(|p| std::fs::read_to_string(p).ok());
    let masked = text.map(|t| Arc::new(mask(&t)));
    files.lock().insert(file, masked.clone());
    masked
}

/// Finds a file named by `file!()`/`Location::file()`: relative to the workspace root
/// (where cargo runs rustc), so tried against the current directory (a test runs in its
/// package's directory) and its ancestors.
pub(crate) fn locate(file: &str) -> Option<PathBuf> {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    let mut bases: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        bases.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        bases.extend(Path::new(&dir).ancestors().map(Path::to_path_buf));
    }
    bases.into_iter().map(|b| b.join(p)).find(|c| c.is_file())
}

/// The source with comments, string and char literals replaced by spaces (newlines are
/// kept), so that brackets and keywords inside them are not seen. Same length in chars.
pub(crate) fn mask(src: &str) -> Vec<char> {
    let s: Vec<char> = src.chars().collect();
    let mut out = s.clone();
    let n = s.len();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for c in out.iter_mut().take(to.min(n)).skip(from) {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < n {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = (i..n).find(|&j| s[j] == '\n').unwrap_or(n);
            blank(&mut out, i, end);
            i = end;
        } else if c == '/' && next == Some('*') {
            let (mut j, mut depth) = (i + 2, 1);
            while j < n && depth > 0 {
                if s[j] == '/' && s.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if s[j] == '*' && s.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if c == 'r'
            && (i == 0 || !ident(s[i - 1]) || s[i - 1] == 'b')
            && matches!(next, Some('"') | Some('#'))
        {
            // A raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while j < n && s[j] == '#' {
                hashes += 1;
                j += 1;
            }
            if j < n && s[j] == '"' {
                j += 1;
                while j < n {
                    if s[j] == '"' && (1..=hashes).all(|h| s.get(j + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                blank(&mut out, i + 1, j);
                i = j;
            } else {
                i += 1;
            }
        } else if c == '"' {
            let mut j = i + 1;
            while j < n && s[j] != '"' {
                j += if s[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < n && s[j] != '\'' && s[j] != '\n' {
                    j += 1;
                }
                blank(&mut out, i, j + 1);
                i = j + 1;
            } else if s.get(i + 2) == Some(&'\'') {
                blank(&mut out, i, i + 3);
                i += 3;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The index in `s` of the 1-based `line` and char `col`.
fn index_of(s: &[char], line: u32, col: u32) -> Option<usize> {
    let mut l = 1;
    let mut start = 0;
    if line > 1 {
        for (i, &c) in s.iter().enumerate() {
            if c == '\n' {
                l += 1;
                if l == line {
                    start = i + 1;
                    break;
                }
            }
        }
        if l != line {
            return None;
        }
    }
    let i = start + col.saturating_sub(1) as usize;
    (i < s.len()).then_some(i)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Skips whitespace backward from `i` (exclusive); the index of the previous char.
fn prev_non_space(s: &[char], mut i: usize) -> Option<usize> {
    while i > 0 {
        i -= 1;
        if !s[i].is_whitespace() {
            return Some(i);
        }
    }
    None
}

/// The identifier that ends at `end` (inclusive), if any.
fn ident_ending_at(s: &[char], end: usize) -> Option<(usize, String)> {
    if !is_ident(s[end]) {
        return None;
    }
    let mut start = end;
    while start > 0 && is_ident(s[start - 1]) {
        start -= 1;
    }
    let word: String = s[start..=end].iter().collect();
    (!word.chars().next().is_some_and(|c| c.is_ascii_digit())).then_some((start, word))
}

/// Field names that say nothing about the role: the one lock of a struct named `state`
/// is named after the struct (`Cache { state: .. }` is `cache`). A monitor field always
/// is (`Tunnel { inside: Monitor::new(..) }` is `tunnel`).
const GENERIC_FIELDS: &[&str] = &[
    "state", "inner", "data", "shared", "monitor", "lock", "mutex", "guard",
];

/// The type of the struct literal a field initialiser at `at` belongs to, in snake case
/// (`DiningRoom { state: .. }` -> `dining_room`; `Self { .. }` -> the `impl`'s type).
fn struct_of_field(s: &[char], at: usize) -> Option<String> {
    let mut i = at;
    let mut depth = 0usize;
    let limit = at.saturating_sub(8000);
    while i > limit {
        i -= 1;
        match s[i] {
            ')' | ']' | '}' => depth += 1,
            '(' | '[' if depth > 0 => depth -= 1,
            '{' if depth > 0 => depth -= 1,
            '(' | '[' | ';' if depth == 0 => return None,
            '{' => {
                let b = prev_non_space(s, i)?;
                let (_, name) = ident_ending_at(s, b)?;
                if !name.starts_with(|c: char| c.is_uppercase()) {
                    return None;
                }
                let name = if name == "Self" {
                    impl_type(s, i)?
                } else {
                    name
                };
                return Some(snake_case(&name));
            }
            _ => {}
        }
    }
    None
}

/// The type of the `impl` block around `at` (`impl<T> Trait for Type<T>` -> `Type`).
fn impl_type(s: &[char], at: usize) -> Option<String> {
    let before: String = s[..at].iter().collect();
    let mut from = before.len();
    loop {
        let k = before[..from].rfind("impl")?;
        from = k;
        let starts = k == 0 || before[..k].ends_with(char::is_whitespace);
        let after = before[k + 4..].chars().next();
        if !starts || !matches!(after, Some('<') | Some(' ')) {
            continue;
        }
        let header = &before[k + 4..];
        let header = &header[..header.find('{')?];
        // Drop the impl's own generics, then take the type after `for`, if any.
        let mut depth = 0usize;
        let mut plain = String::new();
        for c in header.chars() {
            match c {
                '<' => depth += 1,
                '>' => depth = depth.saturating_sub(1),
                _ if depth == 0 => plain.push(c),
                _ => {}
            }
        }
        let ty = plain.rsplit(" for ").next().unwrap_or(&plain).trim();
        let ty = ty.split_whitespace().next()?;
        let last = ty.rsplit("::").next().unwrap_or(ty);
        return (!last.is_empty()).then(|| last.to_string());
    }
}

/// `DiningRoom` -> `dining_room`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (k, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if k > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Calls whose closure argument runs once per element: the objects it creates are a
/// collection.
const REPEATING_CALLS: &[&str] = &[
    "map",
    "flat_map",
    "filter_map",
    "map_while",
    "for_each",
    "try_for_each",
    "from_fn",
    "repeat_with",
    "resize_with",
    "fill_with",
    "scan",
    "fold",
    "then",
];

/// Calls that add their argument to a collection (`forks.push(Mutex::new(()))`).
const PUSHING_CALLS: &[&str] = &["push", "push_back", "push_front", "insert", "extend"];

/// Derives the name of the objects created at `line:col` of the masked source `s`.
pub(crate) fn derive(s: &[char], line: u32, col: u32, kind: &str) -> Option<SiteName> {
    let pos = index_of(s, line, col)?;
    if let Some(fields) = derive_default_fields(s, pos, kind) {
        return Some(SiteName {
            base: fields[0].clone(),
            repeated: false,
            fields,
        });
    }
    // A monitor is the object its struct implements: named after it (`tunnel`).
    let (base, suffix, repeated, at) = binding(s, pos, kind == "Monitor")?;
    let repeated = repeated || repeated_outside(s, at);
    let base = match (base, suffix.last()) {
        // `let (a, b) = (Mutex::new(0), Mutex::new(1))`: the tuple index picks the name.
        (Pattern::Tuple(names), Some(Suffix::Field(k))) => {
            let mut rest = suffix.clone();
            rest.pop();
            let name = names.get(*k)?.clone();
            apply(name, &rest)
        }
        (Pattern::Tuple(names), None) if kind == "Channel" && names.len() == 2 => {
            channel_name(s, pos, &names[0], &names[1])?
        }
        (Pattern::Tuple(names), _) => format!("({})", names.join(", ")),
        (Pattern::Name(name), _) => apply(name, &suffix),
    };
    (!base.is_empty() && base != "_").then_some(SiteName {
        base,
        repeated,
        fields: Vec::new(),
    })
}

#[derive(Clone, Debug)]
enum Suffix {
    /// `.k` of a tuple.
    Field(usize),
    /// `[k]` of an array.
    Index(usize),
}

#[derive(Clone, Debug)]
enum Pattern {
    Name(String),
    Tuple(Vec<String>),
}

/// `pair` with suffixes `[.1]` (innermost first) -> `pair.1`.
fn apply(mut name: String, suffix: &[Suffix]) -> String {
    for s in suffix.iter().rev() {
        match s {
            Suffix::Field(k) => name.push_str(&format!(".{k}")),
            Suffix::Index(k) => name.push_str(&format!("[{k}]")),
        }
    }
    name
}

/// Scans backward from the creation call at `pos` to what it is bound to: a struct
/// field (`name: ...`), a `let` (or an assignment), or a collection it is pushed into.
/// Returns the pattern, the tuple/array positions crossed on the way (innermost
/// first), whether an iterator closure was crossed, and where the binding starts.
fn binding(s: &[char], pos: usize, by_struct: bool) -> Option<(Pattern, Vec<Suffix>, bool, usize)> {
    let limit = pos.saturating_sub(8000);
    let mut i = pos;
    let mut depth = 0usize;
    let mut commas = 0usize;
    let mut suffix = Vec::new();
    let mut repeated = false;
    let mut closure = false;
    // Where the element we are in begins, at the current level (for a comma after it).
    let mut elem = pos;
    while i > limit {
        i -= 1;
        let c = s[i];
        if depth > 0 {
            match c {
                ')' | ']' | '}' => depth += 1,
                '(' | '[' | '{' => depth -= 1,
                _ => {}
            }
            continue;
        }
        match c {
            ')' | ']' | '}' => depth += 1,
            '(' => {
                let before = prev_non_space(s, i);
                let callee = before.and_then(|b| ident_ending_at(s, b));
                let is_call = before.is_some_and(|b| is_ident(s[b]) || matches!(s[b], '>' | '!'));
                if let Some((start, name)) = &callee
                    && PUSHING_CALLS.contains(&name.as_str())
                    && start.checked_sub(1).is_some_and(|d| s[d] == '.')
                {
                    // `v.push(Mutex::new(..))`: named after the collection.
                    let recv = prev_non_space(s, start - 1).and_then(|b| ident_ending_at(s, b));
                    let (at, name) = recv?;
                    return Some((Pattern::Name(name), suffix, true, at));
                }
                if is_call {
                    if closure
                        && callee
                            .as_ref()
                            .is_some_and(|(_, n)| REPEATING_CALLS.contains(&n.as_str()))
                    {
                        repeated = true;
                    }
                } else if commas > 0 || comma_follows(s, elem) {
                    suffix.push(Suffix::Field(commas));
                }
                commas = 0;
                closure = false;
                elem = i;
            }
            '[' => {
                if commas > 0 || comma_follows(s, elem) {
                    suffix.push(Suffix::Index(commas));
                }
                commas = 0;
                closure = false;
                elem = i;
            }
            '{' => {
                let before = prev_non_space(s, i)?;
                if ident_ending_at(s, before)
                    .is_some_and(|(_, w)| w.starts_with(|c: char| c.is_uppercase()))
                {
                    // A struct literal's brace: no field name was found before it.
                    return None;
                }
                let header = header_of(s, i);
                if header.split_whitespace().any(|w| w == "fn") {
                    return None;
                }
                commas = 0;
                closure = false;
                elem = i;
            }
            ',' => commas += 1,
            ';' => return None,
            '|' => {
                // A closure's parameters: skip to the opening bar.
                let mut j = i;
                while j > limit {
                    j -= 1;
                    if s[j] == '|' {
                        break;
                    }
                }
                i = j;
                closure = true;
            }
            '>' if i > 0 && s[i - 1] == '=' => {
                // `pattern => expr` in a match: skip the pattern to the arm's start.
                let mut j = i - 1;
                let mut d = 0usize;
                while j > limit {
                    j -= 1;
                    match s[j] {
                        ')' | ']' | '}' => d += 1,
                        '(' | '[' if d > 0 => d -= 1,
                        '{' if d > 0 => d -= 1,
                        '{' | ',' if d == 0 => break,
                        _ => {}
                    }
                }
                // Continue from the arm separator (a `,` is skipped, a `{` is exited).
                i = if s[j] == '{' { j + 1 } else { j };
                commas = 0;
            }
            '=' => {
                let prev = if i > 0 { s[i - 1] } else { ' ' };
                if "=!<>+-*/%^&|".contains(prev) {
                    return None;
                }
                let (start, lhs) = statement_before(s, i);
                return parse_lhs(&lhs).map(|p| (p, suffix, repeated, start));
            }
            ':' => {
                if i > 0 && s[i - 1] == ':' {
                    i -= 1;
                    continue;
                }
                let b = prev_non_space(s, i)?;
                let (at, name) = ident_ending_at(s, b)?;
                // `state: Mutex::new(..)` in `Cache { .. }`: the lock of the cache.
                let name = if by_struct || GENERIC_FIELDS.contains(&name.as_str()) {
                    struct_of_field(s, at).unwrap_or(name)
                } else {
                    name
                };
                return Some((Pattern::Name(name), suffix, repeated, at));
            }
            _ => {}
        }
    }
    None
}

/// True if, going forward from `from` at the same nesting level, a `,` comes before the
/// enclosing group closes (so the element is one of several).
fn comma_follows(s: &[char], from: usize) -> bool {
    let mut depth = 0usize;
    for &c in s.iter().skip(from + 1).take(8000) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return false,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return true,
            ';' if depth == 0 => return false,
            _ => {}
        }
    }
    false
}

/// The text of the statement that ends at `end` (exclusive), from the previous `;`, `{`
/// or `}` at the same level, and where it starts.
fn statement_before(s: &[char], end: usize) -> (usize, String) {
    let mut depth = 0usize;
    let mut j = end;
    while j > 0 {
        j -= 1;
        match s[j] {
            ')' | ']' => depth += 1,
            '(' | '[' if depth > 0 => depth -= 1,
            '(' | '[' => break,
            ';' | '{' | '}' if depth == 0 => {
                j += 1;
                break;
            }
            _ => {}
        }
    }
    let text: String = s[j..end].iter().collect();
    let lead = text.len() - text.trim_start().len();
    (j + text[..lead].chars().count(), text)
}

/// The header of the block opened at `brace`: the text back to the previous statement.
fn header_of(s: &[char], brace: usize) -> String {
    statement_before(s, brace).1
}

/// The pattern of `let PAT: T` / `static X: T` / `self.x` / `x[i]` (the text before `=`).
fn parse_lhs(lhs: &str) -> Option<Pattern> {
    let mut words: Vec<&str> = lhs.split_whitespace().collect();
    while let Some(&w) = words.first() {
        if matches!(w, "let" | "mut" | "static" | "const" | "pub" | "ref") || w.starts_with("pub(")
        {
            words.remove(0);
        } else {
            break;
        }
    }
    let text = words.join(" ");
    // Drop a type annotation: the first single `:` outside brackets.
    let chars: Vec<char> = text.chars().collect();
    let mut depth = 0usize;
    let mut cut = chars.len();
    for (k, &c) in chars.iter().enumerate() {
        match c {
            '(' | '[' | '<' => depth += 1,
            ')' | ']' | '>' => depth = depth.saturating_sub(1),
            ':' if depth == 0
                && chars.get(k + 1) != Some(&':')
                && (k == 0 || chars[k - 1] != ':') =>
            {
                cut = k;
                break;
            }
            _ => {}
        }
    }
    let pat: String = chars[..cut].iter().collect();
    let pat = pat.trim();
    if let Some(inner) = pat.strip_prefix('(').and_then(|p| p.strip_suffix(')')) {
        let names: Vec<String> = inner
            .split(',')
            .map(|p| {
                p.split_whitespace()
                    .filter(|w| !matches!(*w, "mut" | "ref"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|p| !p.is_empty())
            .collect();
        return (!names.is_empty()).then_some(Pattern::Tuple(names));
    }
    let pat = pat.trim_start_matches(['*', '&']);
    let pat = pat.split('[').next().unwrap_or(pat);
    let last = pat.rsplit('.').next().unwrap_or(pat).trim();
    (!last.is_empty() && last.chars().all(is_ident) && last != "_")
        .then(|| Pattern::Name(last.to_string()))
}

/// True if the binding at `at` sits inside a loop or an iterator closure of the
/// enclosing function (so the site creates one object per iteration).
fn repeated_outside(s: &[char], at: usize) -> bool {
    let limit = at.saturating_sub(8000);
    let mut i = at;
    let mut depth = 0usize;
    let mut closure = false;
    while i > limit {
        i -= 1;
        match s[i] {
            ')' | ']' | '}' => depth += 1,
            '(' | '[' | '{' if depth > 0 => depth -= 1,
            '|' if depth == 0 => closure = true,
            '(' => {
                let callee = prev_non_space(s, i).and_then(|b| ident_ending_at(s, b));
                if closure && callee.is_some_and(|(_, n)| REPEATING_CALLS.contains(&n.as_str())) {
                    return true;
                }
                closure = false;
            }
            '{' => {
                let header = header_of(s, i);
                let first = header.split_whitespace().next().unwrap_or("");
                if header.split_whitespace().any(|w| w == "fn" || w == "impl") {
                    return false;
                }
                if matches!(first, "for" | "while" | "loop") || first.starts_with("'") {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// A channel bound to `(a, b)`: the common stem (`results_tx`, `results_rx` ->
/// `results`), else the field one end is stored in a few lines below (`Client {
/// requests: tx }` -> `requests`), else the struct both are stored in, else the pattern
/// itself unless its names say nothing (`(tx, rx)`: no name, `Channel#n`).
fn channel_name(s: &[char], pos: usize, a: &str, b: &str) -> Option<String> {
    let (sa, sb) = (stem(a), stem(b));
    if !sa.is_empty() && sa == sb {
        return Some(sa.to_string());
    }
    // Look a few lines ahead for `field: a` or `field: b`.
    let text: String = s[pos..s.len().min(pos + 3000)].iter().collect();
    for line in text.lines().skip(1).take(25) {
        let t = line.trim_start();
        if t.starts_with("fn ") || t.starts_with("pub fn ") {
            break;
        }
        for end in [a, b] {
            let mut rest = line;
            while let Some(k) = rest.find(':') {
                let (left, right) = rest.split_at(k);
                let right = &right[1..];
                let value = right.trim_start();
                let after = value.strip_prefix(end).map(|r| r.trim_start());
                let field = left
                    .trim_end()
                    .rsplit(|c: char| !is_ident(c))
                    .next()
                    .unwrap_or("");
                if !right.starts_with(':')
                    && !left.ends_with(':')
                    && after.is_some_and(|r| r.is_empty() || r.starts_with([',', '}', ')']))
                    && !field.is_empty()
                    && field != end
                {
                    return Some(field.to_string());
                }
                rest = right.trim_start_matches(':');
            }
        }
    }
    // `Mailbox { owner, tx, rx }`: the ends are stored in a struct; name it after it.
    let end = s.len().min(pos + 3000);
    let mut k = pos;
    while k < end {
        if is_ident(s[k]) && (k == 0 || !is_ident(s[k - 1])) {
            let word_end = (k..end).find(|&j| !is_ident(s[j])).unwrap_or(end);
            let word: String = s[k..word_end].iter().collect();
            if word == a || word == b {
                let before = prev_non_space(s, k).map(|j| s[j]);
                let after = (word_end..end)
                    .find(|&j| !s[j].is_whitespace())
                    .map(|j| s[j]);
                if matches!(before, Some('{') | Some(','))
                    && matches!(after, Some(',') | Some('}'))
                    && let Some(name) = struct_of_field(s, k)
                {
                    return Some(name);
                }
            }
            k = word_end;
        } else {
            k += 1;
        }
    }
    (!sa.is_empty() || !sb.is_empty()).then(|| format!("({a}, {b})"))
}

/// `results_tx` -> `results`; `tx` -> ``.
fn stem(end: &str) -> &str {
    const ENDS: &[&str] = &["tx", "rx", "sender", "receiver", "send", "recv", "s", "r"];
    if ENDS.contains(&end) {
        return "";
    }
    for e in ENDS {
        if let Some(stem) = end.strip_suffix(&format!("_{e}")[..]) {
            return stem;
        }
        if let Some(stem) = end.strip_prefix(&format!("{e}_")[..]) {
            return stem;
        }
    }
    end
}

/// For a site inside `#[derive(Default)]`: the struct's fields whose type is `kind`
/// (`lock: Mutex<u32>`), in order, which the derived `default` creates in that order.
fn derive_default_fields(s: &[char], pos: usize, kind: &str) -> Option<Vec<String>> {
    let word: String = s[pos..].iter().take_while(|&&c| is_ident(c)).collect();
    if word != "Default" {
        return None;
    }
    let line_start = s[..pos]
        .iter()
        .rposition(|&c| c == '\n')
        .map_or(0, |k| k + 1);
    let head: String = s[line_start..pos].iter().collect();
    if !head.contains("derive") {
        return None;
    }
    // The struct body: from the next `{` after `struct`.
    let rest: String = s[pos..s.len().min(pos + 8000)].iter().collect();
    let at = rest.find("struct ")?;
    let open = at + rest[at..].find('{')?;
    let mut depth = 0usize;
    let mut body_end = None;
    for (k, c) in rest[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    body_end = Some(open + k);
                    break;
                }
            }
            _ => {}
        }
    }
    let body = &rest[open + 1..body_end?];
    // Split fields at top-level commas.
    let mut fields = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    for c in body.chars().chain(std::iter::once(',')) {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c == ',' && depth == 0 {
            if let Some((name, ty)) = cur.split_once(':') {
                let name = name.split_whitespace().last().unwrap_or("").to_string();
                let ty = ty.trim();
                let outer = ty.split('<').next().unwrap_or(ty).trim();
                let last = outer.rsplit("::").next().unwrap_or(outer);
                if last == kind {
                    fields.push(name);
                }
            }
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    (!fields.is_empty()).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name derived for the creation of `kind` at the first `marker` in `src`.
    fn name(src: &str, marker: &str, kind: &str) -> Option<SiteName> {
        let m = mask(src);
        let at = src.find(marker).expect("marker present");
        let before = &src[..at];
        let line = before.matches('\n').count() as u32 + 1;
        let col = before.rsplit('\n').next().unwrap().chars().count() as u32 + 1;
        derive(&m, line, col, kind)
    }

    fn one(src: &str, marker: &str, kind: &str) -> String {
        name(src, marker, kind).expect("a name").nth(0)
    }

    #[test]
    fn a_struct_field_names_its_object() {
        let src = "impl A {\n    fn new() -> Self {\n        A {\n            balance: Mutex::new(initial),\n            not_full: Condvar::new(),\n        }\n    }\n}\n";
        assert_eq!(one(src, "Mutex::new", "Mutex"), "balance");
        assert_eq!(one(src, "Condvar::new", "Condvar"), "not_full");
    }

    #[test]
    fn a_generic_field_is_named_after_its_struct() {
        let src = "impl Cache {\n    fn new() -> Self {\n        Cache {\n            state: Mutex::new(State::default()),\n        }\n    }\n}\nimpl<T> Default for DiningRoom<T> {\n    fn default() -> Self {\n        Self { monitor: Monitor::new(0, Semantics::Hoare) }\n    }\n}\n";
        assert_eq!(one(src, "Mutex::new", "Mutex"), "cache");
        assert_eq!(one(src, "Monitor::new", "Monitor"), "dining_room");
    }

    #[test]
    fn a_let_binding_names_its_object_through_wrappers() {
        let src = "fn f() {\n    let m = Arc::new(Mutex::new(0));\n    let mut x: Arc<Mutex<u8>> = Arc::new(Mutex::new(1));\n}\n";
        assert_eq!(one(src, "Mutex::new(0", "Mutex"), "m");
        assert_eq!(one(src, "Mutex::new(1", "Mutex"), "x");
    }

    #[test]
    fn a_tuple_element_gets_its_index_or_its_pattern_name() {
        let src = "fn f() {\n    let pair = Arc::new((Mutex::new(false), Condvar::new()));\n    let (a, b) = (Mutex::new(0), Mutex::new(1));\n}\n";
        assert_eq!(one(src, "Mutex::new(false", "Mutex"), "pair.0");
        assert_eq!(one(src, "Condvar::new", "Condvar"), "pair.1");
        assert_eq!(one(src, "Mutex::new(0", "Mutex"), "a");
        assert_eq!(one(src, "Mutex::new(1", "Mutex"), "b");
    }

    #[test]
    fn a_collection_numbers_its_objects_by_role() {
        let src = "fn new(n: usize) -> Self {\n    Table {\n        forks: (0..n)\n            .map(|f| Mutex::new(()))\n            .collect(),\n        me: (0..n).map(|_| Condition::new()).collect(),\n    }\n}\n";
        let forks = name(src, "Mutex::new", "Mutex").unwrap();
        assert_eq!(
            (forks.nth(0), forks.nth(2)),
            ("fork 0".into(), "fork 2".into())
        );
        assert_eq!(
            name(src, "Condition::new", "Condition").unwrap().nth(1),
            "me[1]"
        );
    }

    #[test]
    fn a_loop_or_a_push_makes_a_collection() {
        let src = "fn f() {\n    let mut locks = Vec::new();\n    for i in 0..3 {\n        locks.push(Mutex::new(i));\n    }\n    for i in 0..3 {\n        let (tx, rx) = bounded(1);\n        jobs.push(tx);\n        workers.push(Worker { jobs: rx });\n    }\n}\n";
        assert_eq!(name(src, "Mutex::new", "Mutex").unwrap().nth(1), "lock 1");
        assert_eq!(name(src, "bounded(1)", "Channel").unwrap().nth(2), "job 2");
    }

    #[test]
    fn a_channel_is_named_by_its_stem_or_by_where_it_goes() {
        let src = "fn f() -> (Client, Server) {\n    let (results_tx, results_rx) = unbounded();\n    let (tx, rx) = unbounded();\n    (\n        Client { requests: tx },\n        Server { requests: rx },\n    )\n}\nfn g() {\n    let (to_transform, from_producer) = bounded(2);\n}\n";
        assert_eq!(one(src, "unbounded()", "Channel"), "results");
        assert_eq!(one(src, "unbounded();\n    (", "Channel"), "requests");
        assert_eq!(
            one(src, "bounded(2)", "Channel"),
            "(to_transform, from_producer)"
        );
        let src = "fn f() {\n    let (tx, rx) = bounded(1);\n    make(tx);\n}\n";
        assert_eq!(name(src, "bounded(1)", "Channel"), None);
    }

    #[test]
    fn a_match_arm_is_named_by_the_enclosing_let() {
        let src = "fn new(mode: Mode) -> Self {\n    let (tx, rx) = match mode {\n        Mode::Synchronous => bounded(0),\n        Mode::Asynchronous => unbounded(),\n    };\n    Mailbox { owner, mode, tx, rx }\n}\n";
        assert_eq!(one(src, "bounded(0)", "Channel"), "mailbox");
        assert_eq!(one(src, "unbounded()", "Channel"), "mailbox");
        let src = "fn new() -> Self {\n    let lock = if fair { Mutex::new(1) } else { Mutex::new(2) };\n}\n";
        assert_eq!(one(src, "Mutex::new(2)", "Mutex"), "lock");
    }

    #[test]
    fn derive_default_names_the_fields_of_the_kind_in_order() {
        let src = "#[derive(Default, Debug)]\npub struct S {\n    count: u32,\n    pub lock: Mutex<Vec<u8>>,\n    other: interleave::sync::Mutex<()>,\n    cv: Condvar,\n}\n";
        let m = name(src, "Default", "Mutex").unwrap();
        assert_eq!(
            (m.nth(0), m.nth(1), m.nth(2)),
            ("lock".into(), "other".into(), "lock#2".into())
        );
        assert_eq!(one(src, "Default", "Condvar"), "cv");
    }

    #[test]
    fn a_site_reached_twice_numbers_from_two() {
        let src = "fn f() {\n    let balance = Mutex::new(0);\n}\n";
        let n = name(src, "Mutex::new", "Mutex").unwrap();
        assert_eq!((n.nth(0), n.nth(1)), ("balance".into(), "balance#2".into()));
    }

    #[test]
    fn comments_and_strings_do_not_confuse_the_scan() {
        let src = "fn f() {\n    // let wrong = (\n    let label = \"x: {\"; let c = '{';\n    let right = /* ( */ Mutex::new(0);\n}\n";
        assert_eq!(one(src, "Mutex::new", "Mutex"), "right");
    }

    #[test]
    fn no_binding_gives_no_name() {
        let src = "fn f() {\n    drop(Mutex::new(0));\n    takes(Mutex::new(1));\n}\nfn g() -> Mutex<u8> {\n    Mutex::new(2)\n}\n";
        assert_eq!(name(src, "Mutex::new(0", "Mutex"), None);
        assert_eq!(name(src, "Mutex::new(1", "Mutex"), None);
        assert_eq!(name(src, "Mutex::new(2", "Mutex"), None);
    }

    #[test]
    fn plural_words_become_singular() {
        assert_eq!(singular("forks").as_deref(), Some("fork"));
        assert_eq!(singular("philosophies").as_deref(), Some("philosophy"));
        assert_eq!(singular("boxes").as_deref(), Some("box"));
        assert_eq!(singular("status"), None);
        assert_eq!(singular("me"), None);
    }
}
