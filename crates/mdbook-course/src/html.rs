//! Escaping for the HTML and SVG the preprocessor writes.

/// Text for an element's content or an attribute value (double-quoted).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // mdBook's `{{#...}}` directives and Handlebars never see our text as theirs.
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            _ => out.push(c),
        }
    }
    out
}

/// JSON for a `<script type="application/json">` element: `</` cannot close it, and no
/// `{{#` is left for mdBook's directives (both can only occur inside JSON strings, where
/// the escapes mean the same characters).
pub fn script_json(json: &str) -> String {
    json.replace("</", "<\\/").replace("{{#", "{{\\u0023")
}

/// An id fragment made of `[a-z0-9-]` from any text.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// At most `max` characters, with `…` in place of the rest.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_quotes_and_directives() {
        assert_eq!(
            esc("<a href=\"x\">{{#include}}</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#123;&#123;#include&#125;&#125;&lt;/a&gt;"
        );
        assert_eq!(
            script_json(r#"{"a":{"b":"</script>{{#x}}"}}"#),
            r#"{"a":{"b":"<\/script>{{\u0023x}}"}}"#
        );
        assert_eq!(slug("basic__All waiting cars!"), "basic-all-waiting-cars");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
