//! Live events (`GET /events`): what each event's `data:` carries.

use crate::wire::bodies;
use crate::{ConversationId, Sender};

bodies! {
    /// The `data:` of one live event: metadata only, never a message. The
    /// event's type is its `event:` line and its number its `id:` line.
    pub struct LiveEventData {
        /// The conversation; absent for `member.disabled`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub conversation: Option<ConversationId>,
        /// Who wrote, for `message.created`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub sender: Option<Sender>,
    }
}
