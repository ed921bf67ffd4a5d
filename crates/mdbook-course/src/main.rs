//! `mdbook-course`: the course book's preprocessor. mdBook runs it (see `book/book.toml`)
//! as `mdbook-course supports <renderer>`, then with `[context, book]` as JSON on standard
//! input, and reads the book back from standard output. See the library's documentation
//! for what it does to the chapters.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        // Every renderer: the HTML it writes is the book's, and the checks apply to all.
        Some("supports") => return ExitCode::SUCCESS,
        Some(other) => {
            eprintln!(
                "mdbook-course: unknown argument `{other}`: mdBook runs this preprocessor \
                 itself (`mdbook build book`); it takes `supports <renderer>` or no argument"
            );
            return ExitCode::from(2);
        }
        None => {}
    }
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("mdbook-course: cannot read mdBook's input: {e}");
        return ExitCode::FAILURE;
    }
    match mdbook_course::run(&input) {
        Ok(book) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(book.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                eprintln!("mdbook-course: cannot write the book back to mdBook");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprintln!("mdbook-course: the book has {} problem(s):", problems.len());
            for p in &problems {
                eprintln!("  {p}");
            }
            ExitCode::FAILURE
        }
    }
}
