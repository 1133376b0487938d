//! Loading rule sets: read, parse and check one or more files together.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::compile::check::{check_with, Input};
use crate::compile::program::Program;
use crate::lang::ast::RuleFile;
use crate::lang::diagnostic::{Diagnostic, Diagnostics, Source};
use crate::lang::syntax::parse_file;
use crate::limits::Limits;

/// A parsed and checked set of rules files: lists and rule ids are global
/// across its files.
///
/// ```
/// let rules = riskgate::RuleSet::from_source("seed.rules", include_str!("../../examples/rules/seed.rules"))?;
/// assert_eq!(rules.program().rules.len(), 3);
/// assert!(rules.warnings().items.is_empty());
/// # Ok::<(), riskgate::lang::diagnostic::Diagnostics>(())
/// ```
#[derive(Debug)]
pub struct RuleSet {
    files: Vec<(Source, RuleFile)>,
    program: Arc<Program>,
    warnings: Diagnostics,
}

impl RuleSet {
    /// Parses and checks one source text.
    pub fn from_source(name: &str, text: &str) -> Result<RuleSet, Diagnostics> {
        Self::from_sources(
            vec![(name.to_string(), None, text.to_string())],
            &Limits::default(),
        )
    }

    /// Reads, parses and checks files; every diagnostic of every file on error.
    pub fn from_files<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
    ) -> Result<RuleSet, Diagnostics> {
        Self::from_files_with(paths, &Limits::default())
    }

    /// [`RuleSet::from_files`] with explicit limits.
    pub fn from_files_with<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
        limits: &Limits,
    ) -> Result<RuleSet, Diagnostics> {
        let mut sources = Vec::new();
        let mut errors = Diagnostics::default();
        for p in paths {
            let p = p.as_ref();
            let name = p.display().to_string();
            match crate::limits::read_rules_file(p, limits) {
                Ok(text) => sources.push((name, Some(p.to_path_buf()), text)),
                Err(e) => errors.items.push(file_error(&name, e.to_string())),
            }
        }
        match Self::from_sources(sources, limits) {
            Ok(set) if errors.items.is_empty() => Ok(set),
            Ok(set) => {
                errors.items.extend(set.warnings.items);
                errors.sources = set.warnings.sources;
                Err(errors)
            }
            Err(mut d) => {
                d.items.extend(errors.items);
                d.sort();
                Err(d)
            }
        }
    }

    /// Parses and checks `(name, path, text)` sources as one set.
    pub fn from_sources(
        sources: Vec<(String, Option<PathBuf>, String)>,
        limits: &Limits,
    ) -> Result<RuleSet, Diagnostics> {
        let mut diags = Diagnostics::default();
        let mut files = Vec::new();
        let mut paths = Vec::new();
        for (name, path, text) in sources {
            let name: Arc<str> = Arc::from(name.as_str());
            // A byte-order mark (some editors write one) is not part of the
            // rules; spans are offsets into the text without it.
            let text = match text.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_owned(),
                None => text,
            };
            let (file, d) = parse_file(&name, &text, limits);
            diags.items.extend(d);
            diags.sources.push(Source {
                name: name.clone(),
                text: Arc::from(text.as_str()),
            });
            files.push((
                Source {
                    name,
                    text: Arc::from(text.as_str()),
                },
                file,
            ));
            paths.push(path);
        }
        let syntax_errors = diags.has_errors();
        let inputs: Vec<Input<'_>> = files
            .iter()
            .zip(paths)
            .map(|((src, file), path)| Input {
                name: src.name.clone(),
                path,
                file,
            })
            .collect();
        let (program, d) = check_with(&inputs, limits);
        // After a syntax error the checker sees only part of the files: its
        // warnings (an "unused" list used by the rule that did not parse)
        // would be noise.
        diags
            .items
            .extend(d.into_iter().filter(|d| !syntax_errors || d.is_error()));
        diags.sort();
        match program {
            Some(program) if !syntax_errors && !diags.has_errors() => Ok(RuleSet {
                files,
                program: Arc::new(program),
                warnings: diags,
            }),
            _ => Err(diags),
        }
    }

    /// The compiled program (cheap to clone: an `Arc`).
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// The compiled program, for building an engine.
    pub fn compile(&self) -> Arc<Program> {
        self.program.clone()
    }

    /// Warnings found while checking.
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// The parsed files.
    pub fn files(&self) -> impl Iterator<Item = (&Source, &RuleFile)> {
        self.files.iter().map(|(s, f)| (s, f))
    }
}

fn file_error(name: &str, msg: String) -> Diagnostic {
    let mut d = Diagnostic::error(
        "E0100",
        crate::lang::ast::Span {
            start: 0,
            end: 0,
            line: 1,
            col: 1,
        },
        msg,
    );
    d.file = Arc::from(name);
    d
}
