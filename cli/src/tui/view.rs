//! Drawing the chat screen with ratatui, from [`ChatState`] only:
//!
//! ```text
//! ┌ chats ─────────┐┌ bob ─────────────────────────────────────┐
//! │▸ bob           ││[2026-11-22 20:31:05] #1 alice: hi ✓✓      │
//! │  #12 “fam” (2) ││[2026-11-22 20:31:09] #2 bob: hello        │
//! │                ││… bob is typing                            │
//! └────────────────┘└───────────────────────────────────────────┘
//! ┌ message to bob ───────────────────────────────────────────────┐
//! │see you_                                                       │
//! └───────────────────────────────────────────────────────────────┘
//!  ● connected as alice │ uploading note.ogg ████░░░░ 45% (…)
//!  ↑↓ Tab: chats · PgUp PgDn: scroll · Enter: send · /file /voice …
//! ```
//!
//! Message lines are the ones `history` prints ([`MessageLine::human`]),
//! with the receipt mark of the user's own messages after them. Lines are
//! wrapped here, not by ratatui, so that the number of rows is known: it
//! goes back to the state ([`Viewport`]) for scrolling.

use std::time::Instant;

use quichat_proto::types::{MessageBody, Recipient};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};
use ratatui::Frame;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::state::{ChatState, Connection, Conversation, Mark, Note, Transfer, Viewport};
use crate::output::{human_size, preview};
use crate::render::{brief_human, quoted_name, MessageLine, TypingLine};

/// Width of the conversation list, in columns.
const LIST_WIDTH: u16 = 28;

/// The keys, in the bottom line.
pub const HELP: &str = "↑↓ Tab: chats · PgUp PgDn: scroll · Enter: send · \
                        /file PATH · /voice PATH · /download N · /help · /quit · Ctrl-C: quit";

/// Draws the whole screen; returns the size of the history pane.
pub fn draw(frame: &mut Frame<'_>, state: &ChatState, now: Instant) -> Viewport {
    let [main, input, status, help] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let [list, history] =
        Layout::horizontal([Constraint::Length(LIST_WIDTH), Constraint::Min(10)]).areas(main);
    draw_list(frame, state, list, now);
    let viewport = draw_history(frame, state, history, now);
    draw_input(frame, state, input);
    frame.render_widget(Paragraph::new(status_line(state)), status);
    frame.render_widget(
        Paragraph::new(Line::from(format!(" {HELP}"))).style(Style::new().fg(Color::DarkGray)),
        help,
    );
    viewport
}

/// How the list names a conversation: `bob`, `#12 “fam”`.
fn list_name(c: &Conversation) -> String {
    match (&c.peer, &c.group) {
        (Recipient::User(name), _) => name.clone(),
        (Recipient::Group(id), Some(g)) => format!("#{id} {}", quoted_name(&g.name)),
        (Recipient::Group(id), None) => format!("#{id}"),
    }
}

/// The title of the open conversation: `bob`, `#12 “fam” (3 members)`.
fn title(c: &Conversation) -> String {
    match (&c.peer, &c.group) {
        (Recipient::User(name), _) => name.clone(),
        (Recipient::Group(id), Some(g)) => brief_human(*id, g, 0),
        (Recipient::Group(id), None) => format!("#{id}"),
    }
}

fn draw_list(frame: &mut Frame<'_>, state: &ChatState, area: Rect, now: Instant) {
    let open = state.open_conversation().map(|c| c.peer.clone());
    let items: Vec<ListItem<'_>> = state
        .conversations()
        .iter()
        .map(|c| {
            let mut spans = Vec::new();
            let is_open = open.as_ref() == Some(&c.peer);
            spans.push(Span::raw(if is_open { "▸ " } else { "  " }));
            if let Recipient::User(name) = &c.peer {
                if state.online(name) == Some(true) {
                    spans.push(Span::styled("● ", Style::new().fg(Color::Green)));
                }
            }
            let mut name = Span::raw(list_name(c));
            if c.unread > 0 {
                name = name.style(Style::new().add_modifier(Modifier::BOLD));
            }
            spans.push(name);
            if c.unread > 0 {
                spans.push(Span::styled(
                    format!(" ({})", c.unread),
                    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
                ));
            }
            if state.typing_in(&c.peer, now) {
                spans.push(Span::styled(" ✎", Style::new().fg(Color::DarkGray)));
            }
            let item = ListItem::new(Line::from(spans));
            if is_open {
                item.style(Style::new().add_modifier(Modifier::REVERSED))
            } else {
                item
            }
        })
        .collect();
    let selected = open
        .as_ref()
        .and_then(|p| state.conversations().iter().position(|c| &c.peer == p));
    let mut list_state = ListState::default().with_selected(selected);
    let list = List::new(items).block(Block::bordered().title(" chats "));
    frame.render_stateful_widget(list, area, &mut list_state);
}

/// The rows of the open conversation, wrapped to `width`.
fn history_rows(
    state: &ChatState,
    c: &Conversation,
    width: usize,
    now: Instant,
) -> Vec<Line<'static>> {
    let dim = Style::new().fg(Color::DarkGray);
    let mut rows = Vec::new();
    let mut push = |text: &str, style: Style, mark: Option<Mark>| {
        let symbol = mark.map(Mark::symbol).unwrap_or("");
        let full = if symbol.is_empty() {
            text.to_string()
        } else {
            format!("{text} {symbol}")
        };
        let wrapped = wrap(&full, width);
        let last = wrapped.len().saturating_sub(1);
        for (i, row) in wrapped.into_iter().enumerate() {
            match row.strip_suffix(symbol) {
                Some(head) if i == last && !symbol.is_empty() => {
                    let mark_style = match mark {
                        Some(Mark::Read) => Style::new().fg(Color::Green),
                        _ => Style::new(),
                    };
                    rows.push(Line::from(vec![
                        Span::styled(head.to_string(), style),
                        Span::styled(symbol.to_string(), mark_style),
                    ]));
                }
                _ => rows.push(Line::from(Span::styled(row, style))),
            }
        }
    };
    match &c.history {
        None => push("(opening…)", dim, None),
        Some(h) => {
            if h.loading {
                push("(loading…)", dim, None);
            } else if h.has_more {
                push("(older messages: PgUp at the top)", dim, None);
            }
            if h.loaded && h.messages.is_empty() && state.pending_for(&c.peer).next().is_none() {
                push("(no messages yet: say hello)", dim, None);
            }
            for m in h.messages.values() {
                let style = match &m.body {
                    MessageBody::System(_) => dim.add_modifier(Modifier::ITALIC),
                    MessageBody::Recalled { .. } => dim,
                    _ if m.sender == state.me() => Style::new().fg(Color::Cyan),
                    _ => Style::new(),
                };
                push(&MessageLine::human(m), style, state.mark(c, m));
            }
        }
    }
    for p in state.pending_for(&c.peer) {
        push(
            &format!("(sending) {}: {}", state.me(), preview(&p.text, usize::MAX)),
            dim,
            None,
        );
    }
    if let (true, Recipient::User(name)) = (state.typing_in(&c.peer, now), &c.peer) {
        let line = TypingLine::human(&quichat_proto::social::TypingNotice {
            from: name.clone(),
            conversation_id: c.id,
            expires_in_ms: 0,
        });
        push(&line, dim.add_modifier(Modifier::ITALIC), None);
    }
    rows
}

fn draw_history(frame: &mut Frame<'_>, state: &ChatState, area: Rect, now: Instant) -> Viewport {
    let Some(c) = state.open_conversation() else {
        let block = Block::bordered().title(" no conversation ");
        let text =
            "No conversation yet. Start one with `quichat chat USER` or `quichat chat '#GROUP'`.";
        frame.render_widget(Paragraph::new(text).block(block), area);
        return Viewport::default();
    };
    let block = Block::bordered();
    let inner = block.inner(area);
    let rows = history_rows(state, c, usize::from(inner.width), now);
    let height = usize::from(inner.height);
    let max_scroll = rows.len().saturating_sub(height);
    let scroll = state.scroll().min(max_scroll);
    let mut name = format!(" {} ", title(c));
    if scroll > 0 {
        name.push_str("— scrolled up, PgDn for newer ");
    }
    let end = rows.len() - scroll;
    let start = end.saturating_sub(height);
    let viewport = Viewport {
        rows: rows.len(),
        height,
    };
    let visible: Vec<Line<'static>> = rows.into_iter().skip(start).take(end - start).collect();
    frame.render_widget(Paragraph::new(visible).block(block.title(name)), area);
    viewport
}

fn draw_input(frame: &mut Frame<'_>, state: &ChatState, area: Rect) {
    let to = state
        .open_conversation()
        .map(|c| format!(" message to {} ", list_name(c)))
        .unwrap_or_else(|| " message ".to_string());
    let block = Block::bordered().title(to);
    let inner = block.inner(area);
    let (shown, col) = state.input().window(usize::from(inner.width));
    let text = if state.input().is_empty() {
        Line::styled(
            "type a message, Enter sends · /help for commands",
            Style::new().fg(Color::DarkGray),
        )
    } else {
        Line::from(shown)
    };
    frame.render_widget(Paragraph::new(text).block(block), area);
    if inner.width > 0 && inner.height > 0 {
        let col = u16::try_from(col).unwrap_or(u16::MAX).min(inner.width - 1);
        frame.set_cursor_position(Position::new(inner.x + col, inner.y));
    }
}

/// The status line: the connection, then the transfer or the last note.
fn status_line(state: &ChatState) -> Line<'static> {
    let mut spans = vec![match state.connection() {
        Connection::Connecting => Span::styled(" … connecting", Style::new().fg(Color::Yellow)),
        Connection::Connected => Span::styled(
            format!(" ● connected as {}", state.me()),
            Style::new().fg(Color::Green),
        ),
        Connection::Reconnecting { reason } => Span::styled(
            format!(" ○ reconnecting ({})", preview(reason, 60)),
            Style::new().fg(Color::Red),
        ),
    }];
    if let Some(t) = state.transfer() {
        spans.push(Span::raw(" │ "));
        spans.push(Span::styled(transfer_text(t), Style::new().fg(Color::Cyan)));
    } else if let Some(note) = state.note() {
        spans.push(Span::raw(" │ "));
        spans.push(match note {
            Note::Info(text) => Span::raw(preview(text, usize::MAX)),
            Note::Error(text) => Span::styled(
                format!("error: {}", preview(text, usize::MAX)),
                Style::new().fg(Color::Red),
            ),
        });
    }
    Line::from(spans)
}

/// Cells of the progress bar.
const BAR_CELLS: u64 = 20;

/// `uploading note.ogg ████████░░░░░░░░░░░░ 40% (1.2 MiB of 3.0 MiB)`.
pub fn transfer_text(t: &Transfer) -> String {
    if t.total == 0 {
        return format!("{}…", t.label);
    }
    let done = t.done.min(t.total);
    if done == t.total {
        return format!("{} 100%, checking…", t.label);
    }
    let filled = done.saturating_mul(BAR_CELLS) / t.total;
    let bar: String = (0..BAR_CELLS)
        .map(|i| if i < filled { '█' } else { '░' })
        .collect();
    format!(
        "{} {bar} {}% ({} of {})",
        t.label,
        done.saturating_mul(100) / t.total,
        human_size(done),
        human_size(t.total)
    )
}

/// Wraps `text` to `width` columns: at spaces when it can, inside a word
/// longer than a row. Line breaks start a new row; indentation is kept.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    for line in text.split('\n') {
        let mut row = String::new();
        let mut used = 0;
        // No space before the first word (a wrapped word starts its row
        // without one either).
        let mut fresh = true;
        for word in line.split(' ') {
            let w = word.width();
            let sep = usize::from(!fresh);
            if used + sep + w <= width {
                if sep == 1 {
                    row.push(' ');
                }
                row.push_str(word);
                used += sep + w;
                fresh = false;
                continue;
            }
            if used > 0 {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > width && used > 0 {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                row.push(c);
                used += cw;
            }
            fresh = false;
        }
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use quichat_client::HistoryPage;
    use quichat_proto::event::{Event, EventBody};
    use quichat_proto::media::{MediaInfo, MediaKind};
    use quichat_proto::types::{
        ConversationEntry, ConversationSummary, Message, Receipt, ReceiptKind, Transcript,
    };
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use uuid::Uuid;

    use crate::tui::state::{Connection, Key};

    fn message(seq: u64, from: &str, body: MessageBody) -> Message {
        Message {
            id: seq as i64,
            conversation_id: 1,
            seq,
            sender: from.into(),
            client_id: Uuid::now_v7(),
            to: Recipient::User(if from == "alice" { "bob" } else { "alice" }.into()),
            sent_at_ms: 1_700_000_000_000,
            body,
            transcript: None,
        }
    }

    fn screen(state: &ChatState, width: u16, height: u16) -> (String, Viewport) {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let mut viewport = Viewport::default();
        terminal
            .draw(|f| viewport = draw(f, state, Instant::now()))
            .unwrap();
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        (text, viewport)
    }

    fn state() -> ChatState {
        let entries = [
            ConversationEntry {
                summary: ConversationSummary {
                    id: 1,
                    peer: Recipient::User("bob".into()),
                    last_seq: 3,
                    read_seq: 3,
                    unread: 0,
                    last_message: None,
                },
                group: None,
            },
            ConversationEntry {
                summary: ConversationSummary {
                    id: 12,
                    peer: Recipient::Group(12),
                    last_seq: 9,
                    read_seq: 7,
                    unread: 2,
                    last_message: None,
                },
                group: Some(quichat_proto::types::GroupBrief {
                    name: "fam".into(),
                    member_count: 3,
                    my_role: quichat_proto::group::GroupRole::Member,
                    dissolved: false,
                }),
            },
        ];
        let (mut state, _) = ChatState::new("alice", &entries, None);
        let mut voice = message(
            3,
            "bob",
            MessageBody::Media {
                media: Box::new(MediaInfo {
                    id: Uuid::nil(),
                    kind: MediaKind::Voice,
                    size: 33_280,
                    sha256: [0; 32],
                    mime: "audio/ogg".into(),
                    filename: "note.ogg".into(),
                    width: None,
                    height: None,
                    duration_ms: Some(4_200),
                    has_thumbnail: false,
                }),
                caption: String::new(),
            },
        );
        voice.transcript = Some(Transcript::pending());
        state.history_loaded(
            &Recipient::User("bob".into()),
            HistoryPage {
                conversation_id: Some(1),
                messages: vec![
                    voice,
                    message(2, "bob", MessageBody::Text("hello".into())),
                    message(1, "alice", MessageBody::Text("hi there".into())),
                ],
                has_more: false,
            },
        );
        state.set_connection(Connection::Connected);
        state
    }

    #[test]
    fn the_screen_shows_the_list_the_history_and_the_status() {
        let mut state = state();
        let (text, viewport) = screen(&state, 150, 20);
        assert!(text.contains("▸ bob"), "{text}");
        assert!(text.contains("#12 “fam” (2)"), "{text}");
        assert!(text.contains("#1 alice: hi there"), "{text}");
        assert!(!text.contains("hi there ✓"), "no receipt yet: {text}");
        assert!(text.contains("#2 bob: hello"), "{text}");
        assert!(
            text.contains(
                "[voice note.ogg, 4.2 s, id 00000000-0000-0000-0000-000000000000] (transcribing…)"
            ),
            "{text}"
        );
        assert!(text.contains("● connected as alice"), "{text}");
        assert!(text.contains("message to bob"), "{text}");
        assert!(text.contains("PgUp PgDn: scroll"), "{text}");
        assert_eq!(viewport.height, 20 - 3 - 1 - 1 - 2);
        assert_eq!(viewport.rows, 3);

        // Receipts add their marks to alice's own message.
        let receipt = |kind| Event {
            seq: 9,
            body: EventBody::Receipt(Receipt {
                conversation_id: 1,
                by: "bob".into(),
                kind,
                up_to_seq: 1,
                at_ms: 0,
            }),
        };
        state.apply_event(&receipt(ReceiptKind::Delivered));
        let (text, _) = screen(&state, 120, 20);
        assert!(text.contains("hi there ✓ "), "{text}");
        state.apply_event(&receipt(ReceiptKind::Read));
        let (text, _) = screen(&state, 120, 20);
        assert!(text.contains("hi there ✓✓"), "{text}");

        // What is typed shows in the input box.
        for c in "see you".chars() {
            state.key(Key::Char(c), Instant::now());
        }
        let (text, _) = screen(&state, 120, 20);
        assert!(text.contains("│see you"), "{text}");
    }

    #[test]
    fn progress_and_errors_show_in_the_status_line() {
        let mut state = state();
        for c in "/file /tmp/report.pdf".chars() {
            state.key(Key::Char(c), Instant::now());
        }
        state.key(Key::Enter, Instant::now());
        state.transfer_progress(512 * 1024, 2 * 1024 * 1024);
        let (text, _) = screen(&state, 120, 20);
        assert!(
            text.contains("uploading report.pdf █████░░░░░░░░░░░░░░░ 25% (512.0 KiB of 2.0 MiB)"),
            "{text}"
        );
        state.transfer_done(Err("file: cannot open /tmp/report.pdf".into()));
        state.set_connection(Connection::Reconnecting {
            reason: "timed out".into(),
        });
        let (text, _) = screen(&state, 120, 20);
        assert!(text.contains("○ reconnecting (timed out)"), "{text}");
        assert!(text.contains("error: file: cannot open"), "{text}");
    }

    #[test]
    fn long_lines_wrap_and_scroll() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n    b", 10), ["a", "    b"]);
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("日本語です", 4), ["日本", "語で", "す"]);

        let mut state = state();
        // A narrow screen: more rows than fit.
        let (_, viewport) = screen(&state, 60, 12);
        assert!(viewport.rows > viewport.height, "{viewport:?}");
        state.set_viewport(viewport);
        let (text, _) = screen(&state, 60, 12);
        assert!(!text.contains("alice: hi there"), "{text}");
        state.key(Key::PageUp, Instant::now());
        let (text, _) = screen(&state, 60, 12);
        assert!(text.contains("scrolled up"), "{text}");
        assert!(text.contains("alice: hi there"), "{text}");
    }
}
