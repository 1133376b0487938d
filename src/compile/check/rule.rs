//! One rule: its trigger, conditions, action, severity and the clauses
//! around them.

use super::*;

impl Checker {
    pub(super) fn rule(&mut self, r: &ast::Rule) -> Option<CompiledRule> {
        let errors_before = self.error_count();
        let mut seen: AHashMap<ClauseKind, Span> = AHashMap::new();
        for cl in &r.clauses {
            let kind = cl.kind();
            if kind == ClauseKind::Unknown {
                if let ClauseBody::Unknown { name, .. } = &cl.body {
                    let names = [
                        "Trigger", "Unless", "Action", "Severity", "Mode", "Cooldown", "Tags",
                    ];
                    let help =
                        did_you_mean(&name.node, names).map(|s| format!("did you mean `{s}`?"));
                    self.error(
                        "E0107",
                        name.span,
                        format!("unknown clause `{}`", name.node),
                        help,
                    );
                }
                continue;
            }
            if let Some(prev) = seen.insert(kind, cl.span) {
                let help = format!("the first `{}:` is on line {}", kind.name(), prev.line);
                self.error(
                    "E0109",
                    cl.span,
                    format!("duplicate `{}` clause in rule `{}`", kind.name(), r.id.node),
                    Some(help),
                );
            }
        }
        // One error naming every missing clause, in their usual order.
        let missing: Vec<&str> = [
            ClauseKind::Trigger,
            ClauseKind::Action,
            ClauseKind::Severity,
        ]
        .into_iter()
        .filter(|k| !seen.contains_key(k))
        .map(|k| k.name())
        .collect();
        if !missing.is_empty() {
            let join = |items: Vec<String>, word: &str| match items.as_slice() {
                [init @ .., last] if !init.is_empty() => {
                    format!("{} {word} {last}", init.join(", "))
                }
                _ => items.concat(),
            };
            let names = join(missing.iter().map(|k| format!("`{k}`")).collect(), "or");
            let adds = join(missing.iter().map(|k| format!("`{k}:`")).collect(), "and");
            self.error(
                "E0108",
                r.span,
                format!("rule `{}` has no {names} clause", r.id.node),
                Some(format!(
                    "every rule needs `Trigger:`, `Action:` and `Severity:`; add {adds}"
                )),
            );
        }
        let mut trigger = None;
        let mut unless = None;
        let mut decision = None;
        let mut actions: Vec<Arc<str>> = Vec::new();
        let mut alerts = Vec::new();
        let mut severity = None;
        let mut shadow = false;
        let mut cooldown_ms = None;
        let mut tags = Vec::new();
        for cl in &r.clauses {
            match &cl.body {
                ClauseBody::Trigger(e) => trigger = Some(self.cond(e)),
                ClauseBody::Unless(e) => unless = Some(self.cond(e)),
                ClauseBody::Action(list) => {
                    let mut first_decision: Option<(Decision, Span)> = None;
                    for a in list {
                        match self.action(a) {
                            Some(ActionKind::Decision(d, canon)) => {
                                if let Some((_, prev)) = first_decision {
                                    self.error(
                                        "E0209",
                                        a.span,
                                        format!("rule `{}` has two decision actions", r.id.node),
                                        Some(format!("a rule decides one of deny, suspend_token, flag_for_review, allow; the first is at column {}", prev.col)),
                                    );
                                } else {
                                    first_decision = Some((d, a.span));
                                    decision = Some(d);
                                }
                                actions.push(Arc::from(canon));
                            }
                            Some(ActionKind::Alert(def, canon)) => {
                                alerts.push(def);
                                actions.push(Arc::from(canon.as_str()));
                            }
                            Some(ActionKind::Revoke) => actions.push(Arc::from("revoke_sessions")),
                            None => {}
                        }
                    }
                }
                ClauseBody::Severity(s) => match Severity::from_str(&s.node) {
                    Ok(sev) => severity = Some(sev),
                    Err(_) => {
                        let help = did_you_mean(
                            &s.node.to_ascii_uppercase(),
                            ["LOW", "MEDIUM", "HIGH", "CRITICAL"],
                        )
                        .map(|x| format!("did you mean `{x}`?"))
                        .or_else(|| Some("severities are LOW, MEDIUM, HIGH and CRITICAL".into()));
                        self.error(
                            "E0204",
                            s.span,
                            format!("unknown severity `{}`", s.node),
                            help,
                        );
                    }
                },
                ClauseBody::Mode(m) => match m.node.to_ascii_lowercase().as_str() {
                    "shadow" => shadow = true,
                    "enforce" => shadow = false,
                    _ => {
                        let help = did_you_mean(&m.node, ["enforce", "shadow"])
                            .map(|x| format!("did you mean `{x}`?"));
                        self.error(
                            "E0213",
                            m.span,
                            format!("unknown mode `{}`", m.node),
                            help.or(Some("modes are `enforce` and `shadow`".into())),
                        );
                    }
                },
                ClauseBody::Cooldown(d) => match crate::lang::syntax::parse_duration(&d.node) {
                    Some(ms) if ms > 0 => cooldown_ms = Some(ms),
                    _ => self.error(
                        "E0303",
                        d.span,
                        format!("invalid duration `{}`", d.node),
                        Some("write a duration like `30s`, `15m`, `1h` or `1d`".into()),
                    ),
                },
                ClauseBody::Tags(t) => tags.extend(t.iter().map(|t| Arc::from(t.node.as_str()))),
                ClauseBody::Unknown { .. } => {}
            }
        }
        let clean = self.error_count() == errors_before;
        if let Some(Cond::Const(t)) = &trigger {
            if *t != Tri::True && clean {
                let span = r.trigger().map_or(r.span, |t| t.span);
                self.push(Diagnostic::warning(
                    "W0001",
                    span,
                    format!("the trigger of rule `{}` can never be true", r.id.node),
                ));
            }
        }
        if let (Some(Cond::Const(Tri::True)), true) = (&unless, clean) {
            let span = r
                .clauses_of(ClauseKind::Unless)
                .last()
                .map_or(r.span, |c| c.span);
            self.push(Diagnostic::warning(
                "W0002",
                span,
                format!(
                    "the `Unless` of rule `{}` is always true: the rule never fires",
                    r.id.node
                ),
            ));
        }
        if self.error_count() > errors_before {
            return None;
        }
        let trigger = trigger?;
        Some(CompiledRule {
            id: Arc::from(r.id.node.as_str()),
            title: r.title.as_deref().map(Arc::from),
            // Specialised once the program's lists are known
            // (`Builder::finish`); correct as it is.
            plan: Op::Cond(trigger.clone()),
            unless_plan: unless.clone().map(Op::Cond),
            trigger,
            unless,
            decision,
            severity: severity?,
            actions: actions.into(),
            alerts: alerts.into(),
            shadow,
            cooldown_ms,
            tags: tags.into(),
        })
    }

    pub(super) fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    pub(super) fn action(&mut self, a: &Spanned<ast::Action>) -> Option<ActionKind> {
        let words: Vec<String> = a
            .node
            .words
            .iter()
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let first = words.first().map(String::as_str).unwrap_or("");
        let decision = match first {
            "deny" => Some((Decision::Deny, "deny")),
            "suspend_token" | "suspend" => Some((Decision::Suspend, "suspend_token")),
            "flag_for_review" | "flag" => Some((Decision::Flag, "flag_for_review")),
            "allow" => Some((Decision::Allow, "allow")),
            _ => None,
        };
        let single = |c: &mut Checker, kind: ActionKind| {
            if words.len() > 1 || a.node.quoted.is_some() {
                c.error(
                    "E0203",
                    a.span,
                    format!(
                        "unexpected words after action `{}`",
                        a.node.words.first().map_or("", |w| w.as_str())
                    ),
                    Some("join actions with `+`: `deny + alert security team`".into()),
                );
                None
            } else {
                Some(kind)
            }
        };
        if let Some((d, canon)) = decision {
            return single(self, ActionKind::Decision(d, canon));
        }
        if first == "revoke_sessions" {
            return single(self, ActionKind::Revoke);
        }
        let (immediate, rest) = match words.as_slice() {
            [i, alert, rest @ ..] if i == "immediate" && alert == "alert" => (true, rest),
            [alert, rest @ ..] if alert == "alert" => (false, rest),
            _ => {
                let shown = if a.node.words.is_empty() {
                    String::new()
                } else {
                    a.node.words.join(" ")
                };
                let help = did_you_mean(&shown, ACTIONS.iter().copied()).map(|s| format!("did you mean `{s}`?")).or_else(|| {
                    Some("actions are deny, suspend_token, flag_for_review, allow, revoke_sessions and [immediate] alert [channel]".into())
                });
                self.error("E0203", a.span, format!("unknown action `{shown}`"), help);
                return None;
            }
        };
        // Channel words keep their spelling (values are compared exactly).
        let skip = if immediate { 2 } else { 1 };
        let channel_words: Vec<&str> = a.node.words.iter().skip(skip).map(String::as_str).collect();
        let _ = rest;
        let channel = match (&a.node.quoted, channel_words.is_empty()) {
            (Some(q), true) => Some(q.clone()),
            (None, false) => Some(channel_words.join(" ")),
            (None, true) => None,
            (Some(_), false) => {
                self.error(
                    "E0203",
                    a.span,
                    "an alert channel is either words or one quoted string",
                    None,
                );
                return None;
            }
        };
        let mut canon = if immediate {
            "immediate alert".to_string()
        } else {
            "alert".to_string()
        };
        if let Some(ch) = &channel {
            canon.push(' ');
            if a.node.quoted.is_some() {
                let _ = ast::write_quoted(&mut canon, ch);
            } else {
                canon.push_str(ch);
            }
        }
        Some(ActionKind::Alert(
            AlertDef {
                channel: channel.map(|c| Arc::from(c.as_str())),
                immediate,
            },
            canon,
        ))
    }
}

pub(super) enum ActionKind {
    Decision(Decision, &'static str),
    Alert(AlertDef, String),
    Revoke,
}
