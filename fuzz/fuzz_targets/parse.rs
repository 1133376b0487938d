//! Any text through the parser: it never panics, its diagnostics point inside
//! the text, and a text that parses without errors round-trips through the
//! formatter (`parse(format(ast)) == ast`, `format` a fixed point).

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use riskgate::lang::diagnostic::Diagnostic;
use riskgate::lang::format::format_file;
use riskgate::lang::syntax::parse_file;
use riskgate::Limits;

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 is repaired the way a reader of a damaged file sees it, so
    // that no input is wasted.
    let text = String::from_utf8_lossy(data);
    let name: Arc<str> = Arc::from("fuzz.rules");
    let limits = Limits::default();
    let (file, diags) = parse_file(&name, &text, &limits);
    for d in &diags {
        let s = d.span;
        assert!(
            s.start <= s.end && s.end <= text.len(),
            "span outside the text: {d:?}"
        );
        assert!(
            text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
            "span splits a character: {d:?}"
        );
        assert!(s.line >= 1 && s.col >= 1, "{d:?}");
        assert!(d.code.starts_with("E0") || d.code.starts_with('W'), "{d:?}");
    }
    if diags.iter().any(Diagnostic::is_error) {
        return;
    }
    let formatted = format_file(&file);
    let (again, diags2) = parse_file(&name, &formatted, &limits);
    assert!(
        !diags2.iter().any(Diagnostic::is_error),
        "the canonical form does not parse: {diags2:?}\n--- input\n{text}\n--- canonical\n{formatted}"
    );
    assert!(
        again == file,
        "the canonical form parses to another tree\n--- input\n{text}\n--- canonical\n{formatted}"
    );
    let twice = format_file(&again);
    assert!(
        twice == formatted,
        "formatting is not a fixed point\n--- first\n{formatted}\n--- second\n{twice}"
    );
});
