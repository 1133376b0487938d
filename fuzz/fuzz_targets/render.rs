//! Diagnostics on long lines: the input is turned into a rules file whose
//! trigger is one long line (the bytes repeated into a line of up to 64 KiB,
//! so columns run far from the line start), loaded, and every diagnostic
//! rendered plain and coloured. It never panics; the rendered text is
//! bounded (at most `MAX_RENDERED_PER_FILE` diagnostics of a file in full,
//! each with a source line cut to a window); and each diagnostic's column
//! is the number of characters from its line's start.

#![no_main]

use libfuzzer_sys::fuzz_target;
use riskgate::lang::diagnostic::MAX_RENDERED_PER_FILE;
use riskgate::RuleSet;

fuzz_target!(|data: &[u8]| {
    let Some((&reps, body)) = data.split_first() else {
        return;
    };
    let piece = String::from_utf8_lossy(body).replace(['\n', '\r'], " ");
    if piece.is_empty() {
        return;
    }
    let times = (usize::from(reps) * 64)
        .min((64 << 10) / piece.len())
        .max(1);
    let line = piece.repeat(times);
    let text = format!("Rule 1: t\nTrigger: {line}\nAction: deny\nSeverity: LOW\n");
    let Err(diags) = RuleSet::from_source("long.rules", &text) else {
        return;
    };
    for d in &diags.items {
        let s = d.span;
        assert!(
            s.start <= text.len() && text.is_char_boundary(s.start),
            "{d:?}"
        );
        let line_start = text[..s.start].rfind('\n').map_or(0, |i| i + 1);
        let col = text[line_start..s.start].chars().count() + 1;
        assert_eq!(d.span.col as usize, col, "{d:?}");
    }
    for color in [false, true] {
        let out = diags.render(color);
        let shown = out.matches("error[").count() + out.matches("warning[").count();
        assert!(shown <= MAX_RENDERED_PER_FILE, "{shown} rendered in full");
        // Each rendered diagnostic: a header, the location, a source window
        // of at most ~210 characters, the caret line and a help line; a
        // bounded size whatever the length of the line.
        let per = 4 * 1024 + 2 * text.len().min(1024);
        assert!(
            out.len() <= (shown + 2) * per,
            "{} bytes for {shown}",
            out.len()
        );
    }
});
