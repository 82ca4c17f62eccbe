//! Fills a conversation for browser benchmarks: signs in once as a member,
//! posts N messages to a conversation, then prints K fresh hand-delivered
//! links to it, one per line.
//!
//! ```sh
//! cargo run --release -p latchkey --example seed -- SERVER HANDLE PASSWORD CONVERSATION N K
//! ```

#![allow(clippy::print_stdout)]

use latchkey_client::{Delivery, Member, ServerUrl};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [server, handle, password, conversation, n, k] = args.as_slice() else {
        return Err("usage: seed SERVER HANDLE PASSWORD CONVERSATION N K".into());
    };
    let member = Member::login(&ServerUrl::parse(server)?, handle, password.as_bytes()).await?;
    let conversation = conversation.parse().map_err(|_| "bad conversation id")?;
    for i in 0..n.parse::<usize>()? {
        member
            .send(
                &conversation,
                &format!("Message number {i}, a line of ordinary length for the benchmark."),
                Delivery::None,
            )
            .await?;
    }
    for _ in 0..k.parse::<usize>()? {
        let link = member
            .new_link(&conversation, Delivery::Myself)
            .await?
            .ok_or("no link")?;
        println!("{}", link.as_str());
    }
    Ok(())
}
