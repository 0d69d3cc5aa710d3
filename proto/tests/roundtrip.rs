//! Property tests of the wire types: every struct and enum with serde
//! derives (the list is checked against the source, so a new type must be
//! added here) survives postcard encode → decode unchanged, the types
//! stored as JSON survive serde_json too, and arbitrary or mutated bytes
//! never panic a decoder.
//!
//! Values come from one generic strategy, [`arb`]: a serde `Deserializer`
//! that builds any `Deserialize` type from a string of choice bytes
//! (variant indices, lengths, numbers, characters), the way `arbitrary`'s
//! `Unstructured` does. So every type is covered without a hand-written or
//! derived strategy per type (and without test attributes on the wire
//! types), every variant and field of every nested type is reached, and
//! proptest shrinks a failure by shrinking the choice bytes (towards
//! variant 0, empty collections, `None`, zero, empty strings).
//!
//! Runs are deterministic (fixed seed) and leave no persistence files.

use std::fmt::Debug;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use quichat_proto::frame::{decode_body, encode, HEADER_LEN};
use quichat_proto::*;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde::Serialize;

/// Cases per property; about 85 types run in well under a second.
const CASES: u32 = 64;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x7175_6963_6861_7401),
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// The generator: a Deserializer over choice bytes.

type Error = de::value::Error;

/// Reads choices from `bytes`; past the end every choice is 0 (the
/// simplest value), so any byte string yields a value.
struct Gen<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Nesting of sequences: deeper ones are kept short.
    depth: usize,
}

impl<'a> Gen<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Gen {
            bytes,
            pos: 0,
            depth: 0,
        }
    }

    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// A choice in `0..n` (`n` ≥ 1).
    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let x = if n <= 256 {
            usize::from(self.byte())
        } else {
            usize::from(u16::from_le_bytes([self.byte(), self.byte()]))
        };
        x % n
    }

    /// A number, often at the edges postcard's varints care about.
    fn u64(&mut self) -> u64 {
        match self.byte() % 10 {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => 127,
            4 => 128,
            5 => (1 << 32) - 1,
            6 => u64::from(self.byte()),
            7 => u64::from(u32::from_le_bytes([
                self.byte(),
                self.byte(),
                self.byte(),
                self.byte(),
            ])),
            _ => u64::from_le_bytes(std::array::from_fn(|_| self.byte())),
        }
    }

    fn char(&mut self) -> char {
        const ODD: [char; 10] = [
            '\0',
            '\u{7f}',
            'é',
            'ß',
            '✓',
            '日',
            '😀',
            '\u{fffd}',
            '\u{200d}',
            '\u{10ffff}',
        ];
        match self.byte() % 4 {
            0 | 1 => char::from(b' ' + self.byte() % 95),
            2 => ODD[self.below(ODD.len())],
            _ => {
                let raw = u32::from_le_bytes([self.byte(), self.byte(), self.byte() % 0x11, 0]);
                char::from_u32(raw).unwrap_or('\u{fffd}')
            }
        }
    }

    fn string(&mut self) -> String {
        let n = self.below(24);
        (0..n).map(|_| self.char()).collect()
    }

    /// A sequence length: up to 3 near the top, up to 1 deeper down.
    fn len(&mut self) -> usize {
        let max = if self.depth < 2 { 4 } else { 2 };
        self.below(max)
    }
}

impl<'de> de::Deserializer<'de> for &mut Gen<'_> {
    type Error = Error;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("the generator needs typed requests"))
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let b = self.byte() & 1 == 1;
        v.visit_bool(b)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let x = self.u64() as i8;
        v.visit_i8(x)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let x = self.u64() as i16;
        v.visit_i16(x)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let x = self.u64() as i32;
        v.visit_i32(x)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let x = self.u64() as i64;
        v.visit_i64(x)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let x = self.u64() as u8;
        v.visit_u8(x)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let x = self.u64() as u16;
        v.visit_u16(x)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let x = self.u64() as u32;
        v.visit_u32(x)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let x = self.u64();
        v.visit_u64(x)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        // Finite, so that equality holds.
        let x = self.u64() as u16;
        v.visit_f32(f32::from(x) / 8.0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let x = self.u64() as u32;
        v.visit_f64(f64::from(x) / 8.0)
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let c = self.char();
        v.visit_char(c)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let s = self.string();
        v.visit_string(s)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        // Only `Uuid` asks for bytes in this protocol (16 of them, in a
        // non-human-readable format); another user would fail loudly.
        let b: Vec<u8> = (0..16).map(|_| self.byte()).collect();
        v.visit_byte_buf(b)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        if self.byte().is_multiple_of(2) {
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let left = self.len();
        self.depth += 1;
        let out = v.visit_seq(Items { gen: self, left });
        self.depth -= 1;
        out
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, Error> {
        v.visit_seq(Items {
            gen: self,
            left: len,
        })
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_tuple(len, v)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let left = self.len();
        self.depth += 1;
        let out = v.visit_map(Items { gen: self, left });
        self.depth -= 1;
        out
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_tuple(fields.len(), v)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        let index = self.below(variants.len());
        v.visit_enum(Variant { gen: self, index })
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("identifiers come from deserialize_enum"))
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
}

/// Elements of a sequence, tuple, struct or map.
struct Items<'g, 'a> {
    gen: &'g mut Gen<'a>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Items<'_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.gen).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.gen).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(&mut *self.gen)
    }
}

/// One chosen variant of an enum.
struct Variant<'g, 'a> {
    gen: &'g mut Gen<'a>,
    index: usize,
}

impl<'de, 'g, 'a> de::EnumAccess<'de> for Variant<'g, 'a> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let index = u32::try_from(self.index).map_err(de::Error::custom)?;
        let value = seed.deserialize(IntoDeserializer::<Error>::into_deserializer(index))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(&mut *self.gen)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_tuple(&mut *self.gen, len, v)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_tuple(&mut *self.gen, fields.len(), v)
    }
}

/// Any value of `T`, built from up to 1 KiB of choices.
fn arb<T: DeserializeOwned + Debug>() -> impl Strategy<Value = T> {
    proptest::collection::vec(any::<u8>(), 0..1024).prop_map(|choices| {
        T::deserialize(&mut Gen::new(&choices))
            .unwrap_or_else(|e| panic!("cannot generate a {}: {e}", std::any::type_name::<T>()))
    })
}

// ---------------------------------------------------------------------------
// The properties.

fn postcard_roundtrip<T>(value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let frame = encode(value).map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
    let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
    prop_assert_eq!(len, frame.len() - HEADER_LEN);
    let back: T = decode_body(&frame[HEADER_LEN..])
        .map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
    prop_assert_eq!(&back, value);
    // Every byte of an encoding is needed: one byte short never decodes
    // to the same value.
    if frame.len() > HEADER_LEN {
        let short = decode_body::<T>(&frame[HEADER_LEN..frame.len() - 1]);
        prop_assert!(
            short.as_ref() != Ok(value),
            "a truncated body decoded equal"
        );
    }
    Ok(())
}

fn json_roundtrip<T>(value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let text = serde_json::to_string(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: T = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, value);
    Ok(())
}

/// Every wire type, by its path in the crate. `every_serde_type_is_listed`
/// compares this list with the derives in `proto/src`.
macro_rules! wire_types {
    ($mac:ident) => {
        $mac! {
            chat::ClientChat, chat::ServerChat, control::ClientControl, control::ServerControl,
            error::ErrorCode, error::WireError, event::Event, event::EventBody,
            group::GroupRole, group::GroupSettings, group::Announcement, group::GroupInfo,
            group::GroupMember, group::Invite, group::GroupNotice,
            media::MediaKind, media::MediaInfo, media::UploadRequest, media::MediaVariant,
            media::ByteRange, media::ClientMedia, media::ServerMedia,
            social::Profile, social::ProfileUpdate, social::RequestState, social::FriendRequest,
            social::Friend, social::Category, social::ContactsChange, social::PresenceState,
            social::Presence, social::TypingNotice,
            stream::StreamKind, stream::StreamHeader,
            notify::PushFlags, notify::Flagged, notify::Mute, notify::DndMode, notify::Dnd,
            notify::NotifySettings,
            types::Recipient, types::ConversationRef, types::MessageBody, types::Reply,
            types::Quote, types::SendMessage, types::SendAck, types::Message,
            types::TranscriptStatus, types::TranscriptSegment, types::Transcript,
            types::MessageUpdate, types::ReceiptKind, types::Receipt, types::ReadPosition,
            types::SessionInfo, types::DeviceInfo, types::ConversationSummary, types::GroupBrief,
            types::ConversationEntry, types::MessageEdit, types::MessageRecall, types::MessageRef,
            types::Reactions, types::ReactionCount, types::ReactionChange, types::Broadcast, types::Mention,
            rpc::Request, rpc::Response,
            rpc::broadcast::Request, rpc::broadcast::Response,
            rpc::contacts::Request, rpc::contacts::Response,
            rpc::conversations::Request, rpc::conversations::Response,
            rpc::devices::Request, rpc::devices::Response,
            rpc::groups::Request, rpc::groups::Response,
            rpc::history::Request, rpc::history::Response,
            rpc::messages::Request, rpc::messages::Response,
            rpc::notify::Request, rpc::notify::Response,
            rpc::presence::Request, rpc::presence::Response,
            rpc::profile::Request, rpc::profile::Response,
            rpc::receipts::Request, rpc::receipts::Response,
            rpc::session::Request, rpc::session::Response,
            rpc::sync::Request, rpc::sync::Response,
        }
    };
}

/// The list as strings.
macro_rules! names {
    ($($($seg:ident)::+),* $(,)?) => {
        &[$(stringify!($($seg)::+)),*]
    };
}

/// One postcard property per type; the type name is in the failure.
macro_rules! postcard_all {
    ($($($seg:ident)::+),* $(,)?) => {
        fn postcard_every_type(runner: &mut proptest::test_runner::TestRunner) {
            $(
                runner
                    .run(&arb::<$($seg)::+>(), |v| postcard_roundtrip(&v))
                    .unwrap_or_else(|e| panic!("{}: {e}", stringify!($($seg)::+)));
            )*
        }
    };
}

/// Decoding arbitrary bytes as every type: errors only.
macro_rules! decode_all {
    ($($($seg:ident)::+),* $(,)?) => {
        fn decode_as_every_type(bytes: &[u8]) {
            $( let _ = decode_body::<$($seg)::+>(bytes); )*
        }
    };
}

wire_types!(postcard_all);
wire_types!(decode_all);

#[test]
fn every_type_roundtrips_through_postcard() {
    let mut runner = proptest::test_runner::TestRunner::new(config());
    postcard_every_type(&mut runner);
}

proptest! {
    #![proptest_config(config())]

    /// The JSON storage formats: `events.payload` holds an `EventBody`,
    /// a system message's body a `GroupNotice` (ARCHITECTURE.md).
    #[test]
    fn stored_json_roundtrips(event in arb::<event::EventBody>(), notice in arb::<group::GroupNotice>()) {
        json_roundtrip(&event)?;
        json_roundtrip(&notice)?;
    }

    /// A pushed event's frame built from a shared body (`push`) is the
    /// frame of the whole value, for any body, seq and flags.
    #[test]
    fn pushed_frames_from_a_shared_body(
        body in arb::<event::EventBody>(),
        seq in any::<u64>(),
        flags in proptest::option::of(any::<u8>()),
        chat in any::<bool>(),
    ) {
        let shared = push::encode_body(&body).unwrap();
        let event = event::Event { seq, body };
        let flags = flags.map(notify::PushFlags);
        let (stream, whole) = match (chat, flags) {
            (true, Some(flags)) => (push::PushStream::Chat, encode(&chat::ServerChat::Flagged(notify::Flagged { flags, event }))),
            (true, None) => (push::PushStream::Chat, encode(&chat::ServerChat::Event(event))),
            (false, Some(flags)) => (push::PushStream::Control, encode(&control::ServerControl::Flagged(notify::Flagged { flags, event }))),
            (false, None) => (push::PushStream::Control, encode(&control::ServerControl::Event(event))),
        };
        let mut built = push::frame_head(stream, flags, seq, shared.len()).unwrap();
        built.extend_from_slice(&shared);
        prop_assert_eq!(built, whole.unwrap());
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        decode_as_every_type(&bytes);
        fuzzing::control(&bytes);
        fuzzing::chat(&bytes);
        fuzzing::media(&bytes);
        let _ = fuzzing::frame(&bytes);
    }

    /// Valid frames with bytes changed, cut or inserted: closer to what a
    /// buggy or hostile peer sends than uniform noise.
    #[test]
    fn mutated_frames_never_panic(
        frame in arb::<control::ClientControl>(),
        send in arb::<chat::ClientChat>(),
        media in arb::<media::ClientMedia>(),
        server in arb::<control::ServerControl>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let bodies = [
            encode(&frame), encode(&send), encode(&media), encode(&server),
        ];
        for body in bodies {
            let mut b = body.map_err(|e| TestCaseError::fail(e.to_string()))?.split_off(HEADER_LEN);
            for &(at, byte, op) in &edits {
                let at = at % (b.len() + 1);
                match op {
                    0 if at < b.len() => b[at] = byte,
                    1 if at < b.len() => { b.truncate(at); }
                    _ => b.insert(at, byte),
                }
            }
            decode_as_every_type(&b);
            fuzzing::control(&b);
            fuzzing::chat(&b);
            fuzzing::media(&b);
        }
    }
}

/// The type list above against the source: every `pub struct`/`pub enum`
/// under `proto/src` whose derive names `Serialize` must be in it.
#[test]
fn every_serde_type_is_listed() {
    let listed: std::collections::BTreeSet<String> = wire_types!(names)
        .iter()
        .map(|s| s.replace(' ', ""))
        .collect();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = std::collections::BTreeSet::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let module: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .filter(|c| c != "mod" && c != "lib")
                .collect();
            let text = std::fs::read_to_string(&path).unwrap();
            for name in serde_types(&text) {
                let mut full = module.clone();
                full.push(name);
                found.insert(full.join("::"));
            }
        }
    }
    assert!(found.len() > 50, "the scan found only {found:?}");
    let missing: Vec<_> = found.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&found).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "add to wire_types!: {missing:?}; remove: {stale:?}"
    );
}

/// Names of the `pub struct`/`pub enum` items whose `#[derive(...)]`
/// includes `Serialize`.
fn serde_types(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[derive(") {
        rest = &rest[at + "#[derive(".len()..];
        let Some(end) = rest.find(")]") else { break };
        let derives = &rest[..end];
        let mut after = rest[end + 2..].trim_start();
        // Further attributes (`#[strum(...)]`) between the derive and the item.
        while after.starts_with("#[") {
            let Some(close) = after.find("]\n") else {
                break;
            };
            after = after[close + 1..].trim_start();
        }
        if !derives.contains("Serialize") {
            continue;
        }
        let item = after
            .strip_prefix("pub struct ")
            .or_else(|| after.strip_prefix("pub enum "));
        if let Some(item) = item {
            let name: String = item
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

/// The generator reaches every variant (checked on the enums with the
/// most variants and the top-level frames), so "every type" above means
/// every variant too.
#[test]
fn the_generator_reaches_every_variant() {
    use proptest::strategy::ValueTree;
    use strum::EnumCount;

    fn variants<T>(runner: &mut proptest::test_runner::TestRunner) -> usize
    where
        T: DeserializeOwned + Debug + EnumCount,
        for<'a> &'a T: Into<&'static str>,
    {
        let strategy = arb::<T>();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..40 * T::COUNT {
            let value = strategy.new_tree(runner).expect("a value").current();
            let name: &'static str = (&value).into();
            seen.insert(name);
        }
        assert_eq!(
            seen.len(),
            T::COUNT,
            "{}: only {seen:?}",
            std::any::type_name::<T>()
        );
        seen.len()
    }
    let mut runner = proptest::test_runner::TestRunner::new(config());
    variants::<rpc::Request>(&mut runner);
    variants::<rpc::Response>(&mut runner);
    variants::<rpc::groups::Request>(&mut runner);
    variants::<rpc::contacts::Request>(&mut runner);
    variants::<error::ErrorCode>(&mut runner);
    variants::<event::EventBody>(&mut runner);
    variants::<group::GroupNotice>(&mut runner);
    variants::<control::ServerControl>(&mut runner);
    variants::<media::ClientMedia>(&mut runner);
    variants::<types::MessageBody>(&mut runner);
}
