//! Trigger phrases: `service_app authentication`, `agent token_request`,
//! resolved to actor kinds and categories.

use super::*;

impl Checker {
    pub(super) fn phrase(&mut self, p: &Phrase, e: &Spanned<Expr>) -> Cond {
        match p {
            Phrase::Actor { kind, category } => {
                let kinds: u8 = match kind {
                    None => 0xff,
                    Some(ast::ActorPhrase::ServiceApp) => {
                        1 << actor_bit_index(crate::compile::vocab::ActorKind::ServiceApp)
                    }
                    Some(ast::ActorPhrase::User) => {
                        1 << actor_bit_index(crate::compile::vocab::ActorKind::User)
                    }
                    Some(ast::ActorPhrase::Agent) => {
                        !(1u8 << actor_bit_index(crate::compile::vocab::ActorKind::User))
                    }
                };
                let cat = match category {
                    ast::CategoryPhrase::Authentication => Categories::AUTHENTICATION,
                    ast::CategoryPhrase::TokenRequest => Categories::TOKEN_REQUEST,
                    ast::CategoryPhrase::ApiCall => Categories::API_CALL,
                    ast::CategoryPhrase::AdminChange => Categories::ADMIN_CHANGE,
                };
                Cond::Actor {
                    kinds,
                    cat,
                    label: Arc::from(expr_text(&e.node).as_str()),
                }
            }
            Phrase::FromIp { negated, list } => {
                let Some(l) =
                    self.phrase_list(list, Ty::IpList, "`from IP in` needs a list of CIDRs")
                else {
                    return Cond::Const(Tri::False);
                };
                Cond::In {
                    negated: *negated,
                    item: Val::Field(Field::Ip),
                    list: l,
                    label: Arc::from("ip"),
                }
            }
            Phrase::IncludesScope { negated, list } => {
                let Some(l) = self.phrase_list(list, Ty::StrList, "scopes are strings") else {
                    return Cond::Const(Tri::False);
                };
                Cond::Scope {
                    negated: *negated,
                    list: l,
                }
            }
            Phrase::TimeOfDay {
                outside,
                start,
                end,
                zone,
            } => {
                let Some(z) = zone else {
                    self.error(
                        "E0304",
                        e.span,
                        format!("`{}` needs a time zone", expr_text(&e.node)),
                        Some("add `UTC` (or an offset like `+05:30`, or an IANA name)".into()),
                    );
                    return Cond::Const(Tri::False);
                };
                match parse_zone(&z.node) {
                    Ok(zone) => Cond::TimeOfDay {
                        outside: *outside,
                        start: *start,
                        end: *end,
                        zone,
                        zone_label: Arc::from(z.node.as_str()),
                    },
                    Err(msg) => {
                        self.error("E0304", z.span, msg, zone_help(&z.node));
                        Cond::Const(Tri::False)
                    }
                }
            }
            Phrase::Days { days, zone } => {
                let mut mask = 0u8;
                for d in days {
                    match parse_day(&d.node) {
                        Some(m) => mask |= m,
                        None => {
                            let names = [
                                "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "weekends",
                                "weekdays",
                            ];
                            let help = did_you_mean(&d.node, names)
                                .map(|s| format!("did you mean `{s}`?"));
                            self.error(
                                "E0214",
                                d.span,
                                format!("unknown day `{}`", d.node),
                                help.or(Some("days are Mon..Sun, `weekends` or `weekdays`".into())),
                            );
                        }
                    }
                }
                let zone = match zone {
                    None => Zone::Fixed(0),
                    Some(z) => match parse_zone(&z.node) {
                        Ok(zone) => zone,
                        Err(msg) => {
                            self.error("E0304", z.span, msg, zone_help(&z.node));
                            return Cond::Const(Tri::False);
                        }
                    },
                };
                Cond::Days {
                    mask,
                    zone,
                    label: Arc::from(expr_text(&e.node).as_str()),
                }
            }
        }
    }
}
