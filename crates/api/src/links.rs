//! Links: look before redeeming, redeem, ask for a new one.

use crate::wire::bodies;
use crate::{ConversationId, Email, GrantId, Handle, PublicMember, B64};

bodies! {
    /// A link's grant id, in a body (never in a URL: it is a bearer secret).
    pub struct GrantRef {
        pub grant_id: GrantId,
    }

    /// Opens a link: its grant id, and the address it was sent to. A
    /// wrong address uses nothing up, so a mail scanner that clicks
    /// through the link page cannot burn the link.
    pub struct RedeemRequest {
        pub grant_id: GrantId,
        /// The guest's e-mail address: the one the link was sent to.
        pub email: Email,
    }

    /// Who wrote, before the link is redeemed.
    pub struct Peeked {
        pub member: PublicMember,
    }

    /// A redeemed link: the wrapped key and a guest session cookie.
    pub struct RedeemedView {
        pub conversation_id: ConversationId,
        /// The conversation key wrapped under the link (73 bytes); unwrap it with the key in the link's fragment.
        pub wrapped_key: B64,
        pub member: PublicMember,
    }

    /// "Send me a new link."
    pub struct LinkRequest {
        pub email: Email,
        /// Only conversations with this member; all of this address's if absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub handle: Option<Handle>,
    }

    /// The same answer whether or not the address has a conversation.
    pub struct LinkRequested {
        /// Always the same sentence.
        pub message: String,
    }

    /// The server answers, and so does its database.
    pub struct Health {
        /// `ok`.
        pub status: String,
    }
}
