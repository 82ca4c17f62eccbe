//! The admin API for the site's backend (`/admin/…`, bearer tokens made by
//! `latchkey admin token create`), and the enrollment link an invitation
//! sends.

use crate::wire::{bodies, wire_enums};
use crate::{DisplayName, Email, Handle};

wire_enums! {
    /// Where a member stands.
    pub enum MemberStatus {
        /// Signs in and takes messages.
        Active,
        /// Disabled by the site: cannot sign in, takes no messages.
        Disabled,
        /// Invited, not yet enrolled (no key yet).
        Invited,
    }
}

bodies! {
    /// A member as the site's backend sees him.
    pub struct AdminMember {
        pub handle: Handle,
        pub display_name: DisplayName,
        pub status: MemberStatus,
        /// Registration (or, while invited, invitation) time, milliseconds since the Unix epoch.
        pub created_at: i64,
        /// His contact page, where guests write to him.
        pub contact_url: String,
    }

    /// Every member and pending invitation, by handle.
    pub struct AdminMemberList {
        pub members: Vec<AdminMember>,
    }

    /// Invite a member: he gets a one-time enrollment link where he sets up his key.
    pub struct InviteRequest {
        pub handle: Handle,
        pub display_name: DisplayName,
        /// His address, for notices (stored sealed) and the invitation.
        pub email: Email,
        /// E-mail the enrollment link to `email` through the outbox (default: only return it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub send_email: Option<bool>,
        /// The invitation's language, a language tag (`de`, `de-AT`): its mail is written in the best match among the server's languages, English if none fits (default: English).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$"))]
        pub language: Option<String>,
    }

    /// A new invitation.
    pub struct Invited {
        pub member: AdminMember,
        /// The one-time enrollment link; its token is in the fragment. A secret: hand it only to the member.
        pub enrollment_url: String,
        /// When the link stops working, milliseconds since the Unix epoch.
        pub expires_at: i64,
        /// Whether the link was queued for e-mail.
        pub emailed: bool,
        /// The language the invitation is written in (its mail, if sent): `en`, `de`.
        pub language: String,
    }

    /// An enrollment link's token, in a body (never in a URL).
    pub struct EnrollPeek {
        /// The token from the enrollment link's fragment (43 characters of base64url).
        #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{43}$"))]
        pub invite: String,
    }

    /// Who an enrollment link is for: the page fills in the registration with it.
    pub struct Enrollment {
        pub handle: Handle,
        pub display_name: DisplayName,
        /// His address, when the inviter gave one it vouches for; absent (an address the site's provider has not verified), the page asks him for it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub email: Option<Email>,
    }
}
