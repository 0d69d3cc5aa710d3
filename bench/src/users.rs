//! Accounts for a run: unique names (an external server keeps earlier
//! runs' users), registered over real connections.

use std::sync::OnceLock;

use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt};
use quichat_client::Client;

use crate::target::Target;

/// The password every bench account gets.
pub const PASSWORD: &str = "quichat-bench-password";

/// How many registrations run at once (each is an argon2id hash on the
/// server, 19 MiB and a few hundred milliseconds of one core).
const REGISTER_CONCURRENCY: usize = 4;

/// A random tag for this run's usernames.
fn run_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| format!("{:06x}", rand::random::<u32>() & 0x00ff_ffff))
}

/// A username unique to this run: `b<run><role><index>`.
pub fn username(role: &str, index: usize) -> String {
    format!("b{}{role}{index}", run_tag())
}

/// A registered, logged-in account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its connection (authenticated by the registration).
    pub client: Client,
    /// Username.
    pub username: String,
    /// Device token (authenticates more connections).
    pub token: String,
}

/// Registers `names` (a few at a time), each on its own connection, in
/// order.
pub async fn register_all(target: &Target, names: Vec<String>) -> Result<Vec<Account>> {
    let config = target.client_config();
    futures::stream::iter(names)
        .map(|name| {
            let config = config.clone();
            async move {
                let client = Client::connect(&config)
                    .await
                    .with_context(|| format!("connecting to register {name}"))?;
                let (_session, token) = client
                    .register(&name, PASSWORD, "quichat-bench")
                    .await
                    .with_context(|| format!("registering {name}"))?;
                anyhow::Ok(Account {
                    client,
                    username: name,
                    token,
                })
            }
        })
        .buffered(REGISTER_CONCURRENCY)
        .try_collect()
        .await
}

/// Closes every account's connection without waiting for each.
pub fn close_all(accounts: &[Account]) {
    for a in accounts {
        a.client.connection().close(0u32.into(), b"bench done");
    }
}
