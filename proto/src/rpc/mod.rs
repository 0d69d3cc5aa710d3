//! Control-stream requests and responses, one module per domain.
//!
//! The top-level [`Request`] and [`Response`] only name the domain; each
//! domain's own enums (in `session`, `devices`, `sync`, `history`,
//! `conversations`, `receipts`, `profile`, `contacts`, `presence`, `groups`,
//! `messages`, `broadcast`, `notify`)
//! hold its
//! request kinds. postcard numbers
//! enum variants by position, so this nesting keeps a new kind in one
//! domain from renumbering another, and the golden wire tests
//! (`proto/tests/wire.rs`) pin every position.
//!
//! Wire rule: **append, never insert, move or remove.** A new domain is a
//! new variant at the end of [`Request`] and [`Response`]; a new kind is a
//! new variant at the end of its domain's enums.
//!
//! Every domain request implements [`DomainRequest`], which names the
//! domain response it is answered with, so a client maps the top-level
//! response once, generically.

pub mod broadcast;
pub mod contacts;
pub mod conversations;
pub mod devices;
pub mod groups;
pub mod history;
pub mod messages;
pub mod notify;
pub mod presence;
pub mod profile;
pub mod receipts;
pub mod session;
pub mod sync;

use serde::{Deserialize, Serialize};

/// Largest page the server returns for sync, history and lists.
pub const MAX_PAGE: u32 = 500;

/// A control request, by domain. Append new domains at the end.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Request {
    /// Hello, accounts, authentication, logout, ping.
    Session(session::Request),
    /// The caller's devices.
    Devices(devices::Request),
    /// The per-user event log.
    Sync(sync::Request),
    /// Paged conversation history.
    History(history::Request),
    /// The conversation list.
    Conversations(conversations::Request),
    /// Delivered and read receipts.
    Receipts(receipts::Request),
    /// Profiles and the user directory.
    Profile(profile::Request),
    /// Friends, requests, categories, blocking.
    Contacts(contacts::Request),
    /// Presence and typing.
    Presence(presence::Request),
    /// Groups: lifecycle, members, roles, invites.
    Groups(groups::Request),
    /// Operations on sent messages: edit, recall, delete for me.
    Messages(messages::Request),
    /// Server broadcasts (administrators).
    Broadcast(broadcast::Request),
    /// Notification settings: mute, do-not-disturb.
    Notify(notify::Request),
}

/// A successful response, by domain; the domain matches the request's.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount, strum::IntoStaticStr,
)]
pub enum Response {
    /// See [`session::Response`].
    Session(session::Response),
    /// See [`devices::Response`].
    Devices(devices::Response),
    /// See [`sync::Response`].
    Sync(sync::Response),
    /// See [`history::Response`].
    History(history::Response),
    /// See [`conversations::Response`].
    Conversations(conversations::Response),
    /// See [`receipts::Response`].
    Receipts(receipts::Response),
    /// See [`profile::Response`].
    Profile(profile::Response),
    /// See [`contacts::Response`].
    Contacts(contacts::Response),
    /// See [`presence::Response`].
    Presence(presence::Response),
    /// See [`groups::Response`].
    Groups(groups::Response),
    /// See [`messages::Response`].
    Messages(messages::Response),
    /// See [`broadcast::Response`].
    Broadcast(broadcast::Response),
    /// See [`notify::Response`].
    Notify(notify::Response),
}

/// A domain's request enum, with the domain response that answers it.
pub trait DomainRequest: Into<Request> {
    /// The domain's response enum.
    type Response: TryFrom<Response, Error = Response>;
}

/// Wires a domain's enums into the top-level ones.
macro_rules! domain {
    ($module:ident, $variant:ident) => {
        impl From<$module::Request> for Request {
            fn from(r: $module::Request) -> Self {
                Request::$variant(r)
            }
        }
        impl From<$module::Response> for Response {
            fn from(r: $module::Response) -> Self {
                Response::$variant(r)
            }
        }
        impl TryFrom<Response> for $module::Response {
            type Error = Response;
            fn try_from(r: Response) -> Result<Self, Response> {
                match r {
                    Response::$variant(inner) => Ok(inner),
                    other => Err(other),
                }
            }
        }
        impl DomainRequest for $module::Request {
            type Response = $module::Response;
        }
    };
}

domain!(session, Session);
domain!(devices, Devices);
domain!(sync, Sync);
domain!(history, History);
domain!(conversations, Conversations);
domain!(receipts, Receipts);
domain!(profile, Profile);
domain!(contacts, Contacts);
domain!(presence, Presence);
domain!(groups, Groups);
domain!(messages, Messages);
domain!(broadcast, Broadcast);
domain!(notify, Notify);

impl Request {
    /// Whether this request may come before authentication.
    pub fn is_pre_auth(&self) -> bool {
        matches!(self, Request::Session(r) if r.is_pre_auth())
    }
}
