//! `list` declarations: inline items and list files, their type, and the
//! rule set's budget of list items.

use super::*;

impl Checker {
    pub(super) fn list_decl(&mut self, l: &ast::ListDecl, path: Option<&Path>) {
        let name = &l.name.node;
        if let Some(prev) = self.lists.get(name) {
            let help = format!(
                "list names are unique in a rule set; the first is at {}:{}:{}",
                prev.file, prev.span.line, prev.span.col
            );
            self.error(
                "E0208",
                l.name.span,
                format!("duplicate list `{name}`"),
                Some(help),
            );
            return;
        }
        let label: Arc<str> = Arc::from(name.as_str());
        let (list, ty) = match &l.value {
            ast::ListValue::Items(items) if !self.charge_list_items(items.len(), l.name.span) => {
                return self.poisoned_list(l);
            }
            ast::ListValue::Items(items) => match list_ty_of(items) {
                Ok(ty) => (self.build.const_list(list_data(items, ty), label), ty),
                Err((span, msg)) => {
                    self.error(
                        "E0305",
                        span,
                        msg,
                        Some("a list holds only CIDRs/IPs, only strings or only numbers".into()),
                    );
                    return self.poisoned_list(l);
                }
            },
            ast::ListValue::File(f) => {
                let base = path.and_then(Path::parent).unwrap_or(Path::new(""));
                let full = base.join(&f.node);
                if let Some(&(i, ty)) = self.list_files.get(&full) {
                    // Read once per load: another declaration shares it.
                    (ListRef::Const(i, label), ty)
                } else {
                    match read_list_file(&full, self.limits.max_file_bytes) {
                        Ok(text) => {
                            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                            let mut items = Vec::new();
                            for line in text.lines() {
                                let line = line.split('#').next().unwrap_or("").trim();
                                if !line.is_empty() {
                                    items.push(Spanned::new(
                                        crate::lang::literal::classify_bare(line),
                                        f.span,
                                    ));
                                }
                            }
                            let max_items = self.limits.max_list_items;
                            if items.len() > max_items {
                                self.error(
                                "E0102",
                                f.span,
                                format!(
                                    "list file `{}` has {} items, more than the limit of {max_items}",
                                    full.display(),
                                    items.len()
                                ),
                                None,
                            );
                                return self.poisoned_list(l);
                            }
                            if !self.charge_list_items(items.len(), f.span) {
                                return self.poisoned_list(l);
                            }
                            match list_ty_of(&items) {
                                Ok(ty) => {
                                    let list = self.build.const_list(list_data(&items, ty), label);
                                    if let ListRef::Const(i, _) = &list {
                                        self.list_files.insert(full.clone(), (*i, ty));
                                    }
                                    (list, ty)
                                }
                                Err((span, msg)) => {
                                    self.error(
                                    "E0305",
                                    span,
                                    format!("in `{}`: {msg}", full.display()),
                                    Some(
                                        "a list holds only CIDRs/IPs, only strings or only numbers"
                                            .into(),
                                    ),
                                );
                                    return self.poisoned_list(l);
                                }
                            }
                        }
                        Err(ListFileError::TooLarge(max)) => {
                            self.error(
                                "E0102",
                                f.span,
                                format!(
                                    "list file `{}` is larger than the limit of {max} bytes",
                                    full.display()
                                ),
                                None,
                            );
                            return self.poisoned_list(l);
                        }
                        Err(ListFileError::Io(e)) => {
                            self.error(
                                "E0308",
                                f.span,
                                format!("cannot read list file `{}`: {e}", full.display()),
                                None,
                            );
                            return self.poisoned_list(l);
                        }
                    }
                }
            }
            ast::ListValue::Field(p) => match p.node.strip_prefix("agent.") {
                Some(rest) if rest != "id" && !rest.is_empty() => (
                    ListRef::Profile(self.build.profile_list_slot(rest), label),
                    Ty::DynList,
                ),
                _ => {
                    let help = if p.node.starts_with("Agent.") || p.node.starts_with("AGENT.") {
                        "field names are case-sensitive: write `agent.<field>`".to_string()
                    } else {
                        "a list is `[a, b]`, `file \"path\"` or a profile field `agent.<field>`"
                            .to_string()
                    };
                    self.error(
                        "E0202",
                        p.span,
                        format!("`{}` is not a profile field", p.node),
                        Some(help),
                    );
                    return self.poisoned_list(l);
                }
            },
        };
        self.lists.insert(
            name.clone(),
            ListInfo {
                list,
                ty,
                span: l.name.span,
                file: self.file.clone(),
                used: false,
            },
        );
    }

    /// Declares a list whose declaration had an error as an empty list of
    /// any type, so the rules that use it get no further errors about it.
    pub(super) fn poisoned_list(&mut self, l: &ast::ListDecl) {
        let list = self
            .build
            .const_list(ListData::Empty, Arc::from(l.name.node.as_str()));
        let info = ListInfo {
            list,
            ty: Ty::DynList,
            span: l.name.span,
            file: self.file.clone(),
            used: true,
        };
        self.lists.insert(l.name.node.clone(), info);
    }
}

pub(super) fn list_ty_of(items: &[Spanned<Literal>]) -> Result<Ty, (Span, String)> {
    let mut ty = None;
    for item in items {
        let t = match item.node {
            Literal::Ip(_) | Literal::Cidr(_) => Ty::IpList,
            Literal::Str(..) => Ty::StrList,
            Literal::Num(..) => Ty::NumList,
            _ => {
                return Err((
                    item.span,
                    format!(
                        "a list cannot hold {} `{}`",
                        item.node.type_name(),
                        item.node
                    ),
                ))
            }
        };
        match ty {
            None => ty = Some(t),
            Some(prev) if prev != t => {
                return Err((
                    item.span,
                    format!(
                        "mixed list: `{}` is {} but the list's first item is {}",
                        item.node,
                        elem_name(t),
                        elem_name(prev)
                    ),
                ))
            }
            _ => {}
        }
    }
    Ok(ty.unwrap_or(Ty::EmptyList))
}

pub(super) fn elem_name(list: Ty) -> &'static str {
    match list {
        Ty::IpList => "an IP address or CIDR",
        Ty::StrList => "a string",
        Ty::NumList => "a number",
        _ => "a value",
    }
}

/// Why a list file could not be read.
pub(super) enum ListFileError {
    /// Larger than [`Limits::max_file_bytes`](crate::Limits).
    TooLarge(usize),
    /// Missing, unreadable, not UTF-8, or not a regular file.
    Io(std::io::Error),
}

/// Reads a `list NAME = file "..."` file: a regular file (not a device, FIFO
/// or directory, so `/dev/zero` or `/dev/stdin` cannot exhaust memory or
/// block) of at most `max` bytes.
pub(super) fn read_list_file(path: &Path, max: usize) -> Result<String, ListFileError> {
    let file = crate::limits::open_input(path, true).map_err(ListFileError::Io)?;
    let bytes = crate::limits::read_capped(file, max).map_err(ListFileError::Io)?;
    if bytes.len() > max {
        return Err(ListFileError::TooLarge(max));
    }
    String::from_utf8(bytes)
        .map_err(|e| ListFileError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}
