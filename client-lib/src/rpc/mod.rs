//! Typed calls, one file per request domain, all built on
//! [`Client::call`](crate::Client::call), which maps a reply of the wrong
//! domain to an error in one place. [`reply!`] does the same for the
//! variant inside a domain.

mod broadcast;
mod contacts;
mod conversations;
mod devices;
mod groups;
mod history;
mod messages;
mod notify;
mod presence;
mod profile;
mod receipts;
mod session;
mod sync;

pub use history::HistoryPage;
pub use receipts::WhoRead;

/// Takes the one variant a request expects from its domain's response;
/// anything else is a protocol error.
macro_rules! reply {
    ($response:expr, $pattern:pat => $value:expr) => {
        match $response {
            $pattern => Ok($value),
            #[allow(unreachable_patterns)]
            other => Err($crate::client::unexpected(&other)),
        }
    };
}
pub(crate) use reply;
