//! GraphQL types of users and accounts.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{account, account_user, invitation, user};

use super::{repo, viewer::UserViewer};
use crate::{
    context::ContextExt,
    error::AppError,
    loaders::{Member, load_error},
};

/// A member's role in an account.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::Role")]
pub enum Role {
    /// May do everything, including deleting, importing and exporting contacts.
    Administrator,
    /// May work with contacts and conversations.
    Agent,
}

/// A member's chosen availability.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::Availability")]
pub enum Availability {
    /// Available for conversations.
    Online,
    /// Present but not taking new conversations.
    Busy,
    /// Away.
    Offline,
}

// Member-only fields (`email`, `accounts`) are read as the request's viewer, except on the user
// `login` returns: the request is anonymous there, and the user it has just authenticated reads
// their own fields (see `User::logged_in`).
/// A user as a member of the viewer's account.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct User {
    /// The user's id. For an existing user invited by `createAgent` (not a member until they
    /// accept), an opaque `invitation:<n>` instead, stable for that invitation: it reveals
    /// nothing about the user and is no user's id.
    pub id: ID,
    /// Full name.
    pub name: String,
    /// The name shown to customers, when set.
    pub display_name: Option<String>,
    /// Login email (resolved in the complex object: members only).
    #[graphql(skip)]
    pub email: String,
    /// Role in the viewer's account.
    pub role: Role,
    /// Chosen availability in the viewer's account.
    pub availability: Availability,
    /// Whether the user goes offline when disconnected (false: always shown with their chosen availability).
    pub auto_offline: bool,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub user_id: i64,
    /// The identity reading this object's member-only fields instead of the request's viewer:
    /// set only by [`User::logged_in`], to the user's own identity.
    #[graphql(skip)]
    pub reader: Option<UserViewer>,
    /// An invitation echoing the caller's input (see [`User::invited`]), not a member.
    #[graphql(skip)]
    pub invited: bool,
}

impl User {
    /// Member `user_id` of the account through the request's loader; `None` when they are not
    /// (or no longer) a member: an assignee, a note's author, a message's sender.
    pub async fn load_member(
        ctx: &Context<'_>,
        account_id: i64,
        user_id: i64,
    ) -> Result<Option<Self>, AppError> {
        let key = Member {
            account_id,
            user_id,
        };
        let member = ctx.loader()?.load_one(key).await.map_err(load_error)?;
        Ok(member.map(|(user, membership)| Self::new(user, &membership)))
    }

    pub fn new(user: user::Model, membership: &account_user::Model) -> Self {
        Self {
            id: user.id.into(),
            name: user.name,
            display_name: user.display_name,
            email: user.email,
            role: membership.role.into(),
            availability: membership.availability.into(),
            auto_offline: membership.auto_offline,
            created_at: user.created_at,
            user_id: user.id,
            reader: None,
            invited: false,
        }
    }

    /// What `createAgent` answers when it invited an existing user: only what the caller
    /// supplied (name, e-mail, role), an opaque id, and no accounts. The existing user's own
    /// name, id and memberships stay unknown to the inviting account.
    pub fn invited(invitation: &invitation::Model, name: String, email: String) -> Self {
        Self {
            id: ID(format!("invitation:{}", invitation.id)),
            name,
            display_name: None,
            email,
            role: invitation.role.into(),
            availability: Availability::Offline,
            auto_offline: true,
            created_at: invitation.created_at,
            user_id: 0,
            reader: None,
            invited: true,
        }
    }

    /// The user `login` has just authenticated, as a member of the token's account: they read
    /// their own member-only fields whoever the request's viewer is (anonymous, usually). The
    /// identity is the user's own, so this opens nothing about anyone else.
    pub fn logged_in(user: user::Model, membership: &account_user::Model) -> Self {
        let reader = UserViewer {
            user_id: user.id,
            account_id: membership.account_id,
            role: membership.role,
        };
        Self {
            reader: Some(reader),
            ..Self::new(user, membership)
        }
    }

    /// Who reads this user's member-only fields: the logged-in user themselves (see
    /// [`User::logged_in`]), or else the request's viewer, who must be a member.
    fn read_as(&self, ctx: &Context<'_>) -> Result<UserViewer, AppError> {
        match self.reader {
            Some(reader) => Ok(reader),
            None => ctx.member(),
        }
    }
}

#[ComplexObject]
impl User {
    /// Login email (lower-cased; members only).
    async fn email(&self, ctx: &Context<'_>) -> Result<&str, AppError> {
        self.read_as(ctx)?;
        Ok(&self.email)
    }

    /// The accounts this user belongs to. Only the viewer sees all of their own; for other users
    /// this lists the viewer's account alone.
    async fn accounts(&self, ctx: &Context<'_>) -> Result<Vec<Account>, AppError> {
        let viewer = self.read_as(ctx)?;
        if self.invited {
            return Ok(Vec::new());
        }
        let mut accounts = repo::memberships(ctx.db()?, self.user_id).await?;
        if viewer.user_id != self.user_id {
            accounts.retain(|(account, _)| account.id == viewer.account_id);
        }
        Ok(accounts
            .into_iter()
            .map(|(account, membership)| Account::new(account, &membership))
            .collect())
    }
}

/// An account (a tenant) as seen by one of its members.
#[derive(SimpleObject, Clone, Debug)]
pub struct Account {
    /// The account's id.
    pub id: ID,
    /// The account's name.
    pub name: String,
    /// The member's role in this account.
    pub role: Role,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl Account {
    pub fn new(account: account::Model, membership: &account_user::Model) -> Self {
        Self {
            id: account.id.into(),
            name: account.name,
            role: membership.role.into(),
            created_at: account.created_at,
        }
    }
}

/// The result of a successful login.
#[derive(SimpleObject, Clone, Debug)]
pub struct AuthPayload {
    /// A bearer token: send it as `Authorization: Bearer <token>`, or in the websocket
    /// `connection_init` payload as `{"authorization": "Bearer <token>"}`.
    pub token: String,
    /// The logged-in user, as a member of the token's account.
    pub user: User,
}

/// A new member of the viewer's account.
#[derive(InputObject, Debug)]
pub struct CreateAgentInput {
    /// Full name (1 to 255 characters).
    pub name: String,
    /// Login email. When it belongs to an existing user, that user is invited instead: they
    /// join when they call `acceptInvitation`, and the answer shows only this input.
    pub email: String,
    /// Password for a new user (at least 8 characters; checked for an existing user too, but
    /// never changes their password).
    pub password: String,
    /// Role in the account.
    #[graphql(default_with = "Role::Agent")]
    pub role: Role,
}

/// Changes to a member of the viewer's account (`updateAgent`); omitted fields stay.
#[derive(InputObject, Debug, Default)]
pub struct UpdateAgentInput {
    /// New role. The last administrator of the account cannot be demoted.
    pub role: Option<Role>,
    /// New full name (1 to 255 characters; the user's name in every account).
    pub name: Option<String>,
    /// New availability in this account.
    pub availability: Option<Availability>,
}

/// An invitation of the viewer to join an account (`acceptInvitation` joins).
#[derive(SimpleObject, Clone, Debug)]
pub struct Invitation {
    /// The invitation's id.
    pub id: ID,
    /// The account the viewer is invited to; its `role` is the role they will have.
    pub account: Account,
    /// The role the viewer will have in the account.
    pub role: Role,
    /// When the invitation was made (or last renewed).
    pub created_at: DateTime<Utc>,
}

impl Invitation {
    pub fn new(invitation: &invitation::Model, account: account::Model) -> Self {
        Self {
            id: invitation.id.into(),
            account: Account {
                id: account.id.into(),
                name: account.name,
                role: invitation.role.into(),
                created_at: account.created_at,
            },
            role: invitation.role.into(),
            created_at: invitation.created_at,
        }
    }
}
