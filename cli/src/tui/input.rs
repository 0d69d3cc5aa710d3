//! The input line of `quichat chat`: editing a line of text around a
//! cursor, and what a finished line means (a message or a `/command`).
//! No terminal here: keys arrive already translated ([`super::state::Key`]).

use std::path::PathBuf;

use unicode_width::UnicodeWidthChar;

/// A single line being typed, with a cursor between characters.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Input {
    chars: Vec<char>,
    /// Index into `chars`: the cursor stands before `chars[cursor]`.
    cursor: usize,
}

impl Input {
    /// The line as typed.
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// Nothing typed.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Where the cursor is, in characters from the start.
    #[cfg(test)]
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Types one character at the cursor. Line breaks and tabs become
    /// spaces (the line is one line); other control characters are
    /// dropped.
    pub fn insert(&mut self, c: char) {
        let c = match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => return,
            c => c,
        };
        self.chars.insert(self.cursor, c);
        self.cursor += 1;
    }

    /// Types pasted text at the cursor, as [`Input::insert`] would.
    pub fn insert_str(&mut self, text: &str) {
        // A pasted "\r\n" is one break, so one space.
        for c in text.replace("\r\n", "\n").chars() {
            self.insert(c);
        }
    }

    /// Deletes the character before the cursor.
    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.chars.remove(self.cursor);
        }
    }

    /// Deletes the character under the cursor.
    pub fn delete(&mut self) {
        if self.cursor < self.chars.len() {
            self.chars.remove(self.cursor);
        }
    }

    /// Deletes the word before the cursor (and the spaces after it), like
    /// Ctrl-W in a shell.
    pub fn delete_word(&mut self) {
        let mut start = self.cursor;
        while start > 0 && self.chars[start - 1] == ' ' {
            start -= 1;
        }
        while start > 0 && self.chars[start - 1] != ' ' {
            start -= 1;
        }
        self.chars.drain(start..self.cursor);
        self.cursor = start;
    }

    /// Moves the cursor one character left.
    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    /// Moves the cursor one character right.
    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.chars.len());
    }

    /// Moves the cursor to the start of the line.
    pub fn home(&mut self) {
        self.cursor = 0;
    }

    /// Moves the cursor to the end of the line.
    pub fn end(&mut self) {
        self.cursor = self.chars.len();
    }

    /// Empties the line.
    pub fn clear(&mut self) {
        self.chars.clear();
        self.cursor = 0;
    }

    /// The part of the line that fits in `width` terminal columns with the
    /// cursor in view, and the cursor's column in it. Wide characters
    /// (CJK, most emoji) take two columns.
    pub fn window(&self, width: usize) -> (String, usize) {
        let width = width.max(1);
        let col = |c: &char| c.width().unwrap_or(0);
        // Keep one column for the cursor after the last character.
        let mut start = self.cursor;
        let mut used = 0;
        while start > 0 {
            let w = col(&self.chars[start - 1]);
            if used + w > width - 1 {
                break;
            }
            used += w;
            start -= 1;
        }
        let mut shown = String::new();
        let mut total = 0;
        for c in &self.chars[start..] {
            let w = col(c);
            if total + w > width {
                break;
            }
            total += w;
            shown.push(*c);
        }
        (shown, used)
    }
}

/// What a finished input line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send this text to the open conversation.
    Text(String),
    /// `/file PATH`: upload a file and send it.
    File(PathBuf),
    /// `/voice PATH`: upload a recording as a voice note and send it.
    Voice(PathBuf),
    /// `/download N`: download the media of message #N.
    Download(u64),
    /// `/help`: show the commands.
    Help,
    /// `/quit`.
    Quit,
}

/// The commands, as `/help` shows them.
pub const HELP: &str = "/file PATH · /voice PATH · /download N (media of #N to ./) · /quit · \
                        //text sends a text that starts with /";

/// Reads a finished line: `Ok(None)` for a blank one, an error for a
/// mistyped command (the message says what is wrong). A line starting
/// with `//` is a text starting with one `/`.
pub fn parse(line: &str) -> Result<Option<Command>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    if let Some(text) = line.strip_prefix("//") {
        return Ok(Some(Command::Text(format!("/{text}"))));
    }
    let Some(command) = line.strip_prefix('/') else {
        return Ok(Some(Command::Text(line.to_string())));
    };
    let (name, rest) = match command.split_once(' ') {
        Some((name, rest)) => (name, rest.trim()),
        None => (command, ""),
    };
    let path = |usage: &str| {
        if rest.is_empty() {
            Err(format!("usage: {usage}"))
        } else {
            Ok(PathBuf::from(rest))
        }
    };
    match name {
        "quit" | "q" | "exit" => Ok(Some(Command::Quit)),
        "help" | "h" | "?" => Ok(Some(Command::Help)),
        "file" => Ok(Some(Command::File(path("/file PATH")?))),
        "voice" => Ok(Some(Command::Voice(path("/voice PATH")?))),
        "download" => {
            let n = rest.strip_prefix('#').unwrap_or(rest);
            match n.parse::<u64>() {
                Ok(seq) if seq > 0 => Ok(Some(Command::Download(seq))),
                _ => Err("usage: /download N, with N the #N of a file or voice message".into()),
            }
        }
        other => Err(format!("unknown command /{other}; /help lists them")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> Input {
        let mut input = Input::default();
        input.insert_str(text);
        input
    }

    #[test]
    fn editing_moves_around_the_cursor() {
        let mut input = typed("helo");
        input.left();
        input.insert('l');
        assert_eq!(input.text(), "hello");
        assert_eq!(input.cursor(), 4);
        input.home();
        input.delete();
        input.insert('H');
        assert_eq!(input.text(), "Hello");
        input.end();
        input.backspace();
        assert_eq!(input.text(), "Hell");
        input.right();
        assert_eq!(input.cursor(), 4, "the cursor stops at the end");
        input.home();
        input.left();
        input.backspace();
        assert_eq!(input.text(), "Hell", "nothing before the start");
        input.clear();
        assert!(input.is_empty());
        assert_eq!(input.cursor(), 0);
    }

    #[test]
    fn words_are_deleted_backwards() {
        let mut input = typed("send this  now ");
        input.delete_word();
        assert_eq!(input.text(), "send this  ");
        input.delete_word();
        assert_eq!(input.text(), "send ");
        input.delete_word();
        input.delete_word();
        assert_eq!(input.text(), "");
    }

    #[test]
    fn pasted_lines_become_one_line() {
        let input = typed("one\r\ntwo\nthree\tfour\u{1b}[2J");
        assert_eq!(input.text(), "one two three four[2J");
        let mut input = typed("añb👍");
        input.left();
        input.backspace();
        assert_eq!(input.text(), "añ👍");
    }

    #[test]
    fn the_window_keeps_the_cursor_in_view() {
        let input = typed("abcdefghij");
        // The cursor is after the last character: 4 columns show "ghi" +
        // the cursor's cell.
        assert_eq!(input.window(4), ("hij".to_string(), 3));
        let mut input = typed("abcdefghij");
        input.home();
        assert_eq!(input.window(4), ("abcd".to_string(), 0));
        assert_eq!(typed("ab").window(10), ("ab".to_string(), 2));
        // Wide characters take two columns.
        assert_eq!(typed("日本語").window(5), ("本語".to_string(), 4));
    }

    #[test]
    fn lines_parse_into_commands() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("   "), Ok(None));
        assert_eq!(
            parse("hi there"),
            Ok(Some(Command::Text("hi there".into())))
        );
        assert_eq!(parse("//etc"), Ok(Some(Command::Text("/etc".into()))));
        assert_eq!(parse("/quit"), Ok(Some(Command::Quit)));
        assert_eq!(parse("/q"), Ok(Some(Command::Quit)));
        assert_eq!(parse("/help"), Ok(Some(Command::Help)));
        assert_eq!(
            parse("/file  my report.pdf "),
            Ok(Some(Command::File("my report.pdf".into())))
        );
        assert_eq!(
            parse("/voice note.ogg"),
            Ok(Some(Command::Voice("note.ogg".into())))
        );
        assert_eq!(parse("/download 7"), Ok(Some(Command::Download(7))));
        assert_eq!(parse("/download #7"), Ok(Some(Command::Download(7))));
        assert!(parse("/download").unwrap_err().starts_with("usage"));
        assert!(parse("/download 0").is_err());
        assert!(parse("/download x").is_err());
        assert_eq!(parse("/file"), Err("usage: /file PATH".into()));
        assert_eq!(parse("/voice   "), Err("usage: /voice PATH".into()));
        assert!(parse("/frobnicate")
            .unwrap_err()
            .contains("unknown command /frobnicate"));
    }
}
