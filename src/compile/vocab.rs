//! The vocabulary rules and events share: who acted ([`ActorKind`]) and
//! what kind of event it was ([`Categories`]). The checker resolves the
//! words of a rule's trigger phrase to these; every event reader fills them.

/// Who acted. `Agent` in the rule language means "any non-`User` kind".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An OAuth service app (Okta `PublicClientApp` / `PublicClientAppEntity`).
    ServiceApp,
    /// A human user.
    User,
    /// An AI agent (native events only).
    Agent,
    /// The identity provider itself (Okta `SystemPrincipal`).
    System,
    /// Anything else, or not said.
    #[default]
    Other,
}

impl ActorKind {
    /// True for every kind but [`ActorKind::User`]: the phrase kind `agent` matches these.
    pub fn is_non_human(self) -> bool {
        !matches!(self, ActorKind::User)
    }
}

/// The event categories, as a bit set: a client-credentials token grant is both
/// [`Categories::AUTHENTICATION`] and [`Categories::TOKEN_REQUEST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Categories(pub u8);

impl Categories {
    /// No category.
    pub const NONE: Categories = Categories(0);
    /// `authentication`
    pub const AUTHENTICATION: Categories = Categories(1);
    /// `token request`
    pub const TOKEN_REQUEST: Categories = Categories(2);
    /// `api call`
    pub const API_CALL: Categories = Categories(4);
    /// `admin change`
    pub const ADMIN_CHANGE: Categories = Categories(8);

    /// Every category with its native-JSON name (`token_request`) and rule-language phrase (`token request`).
    pub const ALL: [(Categories, &'static str, &'static str); 4] = [
        (
            Categories::AUTHENTICATION,
            "authentication",
            "authentication",
        ),
        (Categories::TOKEN_REQUEST, "token_request", "token request"),
        (Categories::API_CALL, "api_call", "api call"),
        (Categories::ADMIN_CHANGE, "admin_change", "admin change"),
    ];

    /// True when every bit of `other` is set in `self`.
    pub fn contains(self, other: Categories) -> bool {
        self.0 & other.0 == other.0
    }
    /// Adds the bits of `other`.
    pub fn insert(&mut self, other: Categories) {
        self.0 |= other.0;
    }
    /// True when no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for Categories {
    type Output = Categories;
    fn bitor(self, rhs: Categories) -> Categories {
        Categories(self.0 | rhs.0)
    }
}
