//! What the commands print. Text that came from the other side (message
//! bodies, names, addresses) goes through [`printable`] first.

use latchkey_client::{Conversation, ReceivedMessage};
use latchkey_core::Role;

/// One line of `latchkey inbox`.
pub fn conversation_line(c: &Conversation) -> String {
    format!(
        "{}  {} message(s), {} unread{}{}",
        c.id,
        c.last_seq,
        c.unread,
        if c.confirmed {
            ""
        } else {
            ", address not yet confirmed"
        },
        if c.link_requested {
            ", guest asked for a new link"
        } else {
            ""
        },
    )
}

/// A conversation's messages, oldest first, each followed by a blank line.
pub fn print_messages(messages: &[ReceivedMessage]) {
    for m in messages {
        println!("{}", message_block(m));
    }
}

/// `[seq] who:` (with the guest's name and address on the first message),
/// then the body.
fn message_block(m: &ReceivedMessage) -> String {
    let who = match m.sender {
        Role::Member => "member",
        Role::Guest => "guest",
    };
    let body = printable(&m.body);
    match &m.introduction {
        Some((email, name)) => format!(
            "[{}] {who} ({} <{}>):\n{body}\n",
            m.seq,
            printable(name),
            printable(email)
        ),
        None => format!("[{}] {who}:\n{body}\n", m.seq),
    }
}

/// Text the other side wrote, made safe for a terminal: control characters
/// (escape sequences, carriage returns that overwrite lines) become U+FFFD;
/// line breaks stay, indented so no line can pass for a message header.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => "\n    ".to_owned(),
            '\t' => "    ".to_owned(),
            c if c.is_control() => '\u{FFFD}'.to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(printable("a\u{1b}[2Jb\rc"), "a\u{FFFD}[2Jb\u{FFFD}c");
        assert_eq!(printable("one\ntwo\tthree"), "one\n    two    three");
        assert_eq!(printable("[2] member:"), "[2] member:");
        assert_eq!(printable("x\n[2] member:"), "x\n    [2] member:");
    }
}
