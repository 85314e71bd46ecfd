//! The line editor: an [`Editor`] is fed the bytes a VT100/ANSI terminal sends, one at a
//! time, keeps the line being typed, the cursor in it and the history of entered lines, and
//! answers with the bytes to echo so the screen shows the change, plus an [`Event`] when a
//! line is finished, interrupted or the input ends. It does no I/O itself.
//!
//! The editor only knows where the cursor is relative to the start of the line, not the
//! prompt before it: every redraw moves the cursor with backspaces (`\x08`, which moves left
//! without erasing) and overwrites what is to its right, so it works after any prompt as
//! long as the line fits on one terminal row. Lines are printable text: ASCII and UTF-8
//! characters, each taken as one cell of the screen (wide characters are not measured);
//! bytes that do not make a character are ignored.
//!
//! | Keys                                               | Action                                       |
//! |----------------------------------------------------|----------------------------------------------|
//! | printable ASCII, UTF-8 characters                  | insert at the cursor                         |
//! | Enter (`\r`, `\n`, `\r\n`)                         | [`Event::Line`]                              |
//! | Backspace (`0x7f`, `0x08`)                         | delete before the cursor                     |
//! | Delete (`ESC [ 3 ~`)                               | delete under the cursor                      |
//! | Ctrl-C                                             | discard the line, [`Event::Interrupt`]       |
//! | Ctrl-D                                             | [`Event::Eof`] on an empty line, else Delete |
//! | Left, Right (`ESC [ D`, `ESC [ C`), Ctrl-B, Ctrl-F | move one character                           |
//! | Home (`ESC [ H`, `ESC [ 1 ~`, `ESC O H`), Ctrl-A   | move to the start                            |
//! | End (`ESC [ F`, `ESC [ 4 ~`, `ESC O F`), Ctrl-E    | move to the end                              |
//! | Up, Down (`ESC [ A`, `ESC [ B`), Ctrl-P, Ctrl-N    | walk the history                             |
//! | Ctrl-U                                             | clear the line                               |
//! | Ctrl-K                                             | delete from the cursor to the end            |
//! | Ctrl-W                                             | delete the word before the cursor            |
//! | Tab                                                | [`Event::Complete`]: the caller completes    |
//!
//! Any other control byte is ignored, and any other escape sequence is read to its end and
//! ignored (the `ESC O` forms and `ESC [ 1 ; 5 C`-style modifiers are accepted too). There
//! is no timeout: a lone Escape key swallows the key typed after it.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

/// A history capacity for [`Editor::new`] when the caller has no reason to choose another.
pub const HISTORY_CAPACITY: usize = 32;

/// The longest line the editor accepts, in bytes (the console's, POSIX's `MAX_CANON`);
/// typing more rings the bell (`\x07`), and Enter then gives [`Event::Overlong`]: what
/// was cut would have run cut (`> file` lost from the end).
pub const LINE_CAPACITY: usize = 4096;

const CTRL_A: u8 = 0x01;
const CTRL_B: u8 = 0x02;
const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const CTRL_E: u8 = 0x05;
const CTRL_F: u8 = 0x06;
const BELL: u8 = 0x07;
const BACKSPACE: u8 = 0x08;
const TAB: u8 = 0x09;
const CTRL_K: u8 = 0x0b;
const CTRL_N: u8 = 0x0e;
const CTRL_P: u8 = 0x10;
const CTRL_U: u8 = 0x15;
const CTRL_W: u8 = 0x17;
const ESCAPE: u8 = 0x1b;
const DELETE: u8 = 0x7f;

/// What a fed byte completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Enter was pressed: the finished line (which may be empty). The echo holds `\r\n`.
    Line(String),
    /// Ctrl-C: the line was discarded. The echo holds `^C\r\n`.
    Interrupt,
    /// Ctrl-D on an empty line: the user is done. Nothing is echoed.
    Eof,
    /// Enter on a line that outgrew [`LINE_CAPACITY`]: discarded, not to be run. The echo
    /// holds `\r\n`.
    Overlong,
    /// Tab: the caller may complete the word before the cursor
    /// ([`Editor::word_before_cursor`], [`completion`], [`Editor::insert_text`]).
    Complete,
    /// Nothing finished yet.
    None,
}

/// What the word before the cursor names ([`Editor::word_before_cursor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordAt {
    /// A command: it starts the line or follows `;`, `&`, `&&` or `||`.
    Command,
    /// A command in a pipeline (after `|`): a program, not a built-in.
    PipedCommand,
    /// An argument or a redirection's file.
    Argument,
}

/// An editing key that arrives as an escape sequence (or its control-key twin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    Delete,
}

impl Key {
    /// The key `ESC [ parameter final` stands for, if it is one the editor handles.
    fn from_csi(final_byte: u8, parameter: u16) -> Option<Key> {
        match (final_byte, parameter) {
            (b'~', 1 | 7) => Some(Key::Home),
            (b'~', 4 | 8) => Some(Key::End),
            (b'~', 3) => Some(Key::Delete),
            (b'~', _) => None,
            _ => Key::from_ss3(final_byte),
        }
    }

    /// The key `ESC O final` (or `ESC [ final`) stands for, if it is one the editor handles.
    fn from_ss3(final_byte: u8) -> Option<Key> {
        match final_byte {
            b'A' => Some(Key::Up),
            b'B' => Some(Key::Down),
            b'C' => Some(Key::Right),
            b'D' => Some(Key::Left),
            b'H' => Some(Key::Home),
            b'F' => Some(Key::End),
            _ => None,
        }
    }
}

/// How far into an escape sequence the input is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Escape {
    /// Not in a sequence.
    #[default]
    Idle,
    /// After `ESC`.
    Start,
    /// After `ESC [` (a control sequence): the first numeric parameter so far, and whether
    /// it has ended (any later parameters, such as modifiers, are skipped).
    Csi { parameter: u16, parameter_done: bool },
    /// After `ESC O` (a single shift 3, which some terminals send for the cursor keys).
    Ss3,
}

/// What one byte means to the escape-sequence reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoded {
    /// The byte is not part of a sequence: handle it on its own.
    Plain,
    /// The byte belongs to a sequence that is unfinished or means nothing to the editor.
    Consumed,
    /// The byte finished a sequence for this key.
    Key(Key),
}

impl Escape {
    /// Takes one byte. A control byte or a non-ASCII byte in the middle of a sequence breaks
    /// the sequence off and is handled on its own (an `ESC` starts a new one).
    fn advance(&mut self, byte: u8) -> Decoded {
        let key_or_nothing = |key: Option<Key>| key.map_or(Decoded::Consumed, Decoded::Key);
        match (core::mem::take(self), byte) {
            (Escape::Idle, ESCAPE) => {
                *self = Escape::Start;
                Decoded::Consumed
            }
            (Escape::Idle, _) => Decoded::Plain,
            (Escape::Start, b'[') => {
                *self = Escape::Csi { parameter: 0, parameter_done: false };
                Decoded::Consumed
            }
            (Escape::Start, b'O') => {
                *self = Escape::Ss3;
                Decoded::Consumed
            }
            // `ESC x` (Alt-x and the like): a whole sequence, ignored.
            (Escape::Start, 0x20..=0x7e) => Decoded::Consumed,
            (Escape::Csi { parameter, parameter_done: false }, b'0'..=b'9') => {
                let parameter = parameter.saturating_mul(10).saturating_add(u16::from(byte - b'0'));
                *self = Escape::Csi { parameter, parameter_done: false };
                Decoded::Consumed
            }
            // Further parameter bytes (`;`, `?`, ...) and intermediate bytes.
            (Escape::Csi { parameter, .. }, 0x20..=0x3f) => {
                *self = Escape::Csi { parameter, parameter_done: true };
                Decoded::Consumed
            }
            (Escape::Csi { parameter, .. }, 0x40..=0x7e) => key_or_nothing(Key::from_csi(byte, parameter)),
            (Escape::Ss3, 0x20..=0x3f) => {
                *self = Escape::Ss3;
                Decoded::Consumed
            }
            (Escape::Ss3, 0x40..=0x7e) => key_or_nothing(Key::from_ss3(byte)),
            // Broken off: `self` is idle again.
            (_, _) => self.advance(byte),
        }
    }
}

/// A line editor with history for a raw serial terminal.
#[derive(Debug, Clone)]
pub struct Editor {
    /// The line as displayed, a cell per character.
    line: String,
    /// Where the cursor is in `line`, in bytes: `0..=line.len()`, on a character boundary.
    cursor: usize,
    /// The bytes of a UTF-8 character begun (its lead byte first), and how many it has.
    partial: ([u8; 4], usize),
    /// Entered lines, oldest first.
    history: VecDeque<String>,
    history_capacity: usize,
    /// While walking the history: the index of the entry displayed (possibly edited).
    browsing: Option<usize>,
    /// While walking the history: the line that was being typed before.
    draft: String,
    escape: Escape,
    /// The previous byte was `\r`, so a `\n` now is the rest of the same Enter.
    after_cr: bool,
    /// A character was refused for want of room since the line began.
    overlong: bool,
}

impl Default for Editor {
    fn default() -> Self {
        Editor::new(HISTORY_CAPACITY)
    }
}

impl Editor {
    /// An editor with an empty line that remembers the last `history_capacity` lines.
    pub fn new(history_capacity: usize) -> Editor {
        Editor {
            line: String::new(),
            cursor: 0,
            partial: ([0; 4], 0),
            history: VecDeque::new(),
            history_capacity,
            browsing: None,
            draft: String::new(),
            escape: Escape::Idle,
            after_cr: false,
            overlong: false,
        }
    }

    /// Takes one byte from the terminal. Appends to `echo` what to write back so the screen
    /// shows the change, and says whether the byte finished anything.
    pub fn feed(&mut self, byte: u8, echo: &mut Vec<u8>) -> Event {
        let after_cr = core::mem::replace(&mut self.after_cr, false);
        let partial = core::mem::take(&mut self.partial.1);
        match self.escape.advance(byte) {
            Decoded::Plain => {}
            Decoded::Consumed => return Event::None,
            Decoded::Key(key) => {
                self.key(key, echo);
                return Event::None;
            }
        }
        match byte {
            b'\n' if after_cr => {}
            b'\r' | b'\n' => {
                self.after_cr = byte == b'\r';
                let overlong = core::mem::take(&mut self.overlong);
                let line = self.enter(echo);
                return if overlong { Event::Overlong } else { Event::Line(line) };
            }
            CTRL_C => {
                self.reset();
                echo.extend_from_slice(b"^C\r\n");
                return Event::Interrupt;
            }
            CTRL_D if self.line.is_empty() => {
                self.reset();
                return Event::Eof;
            }
            CTRL_D => self.key(Key::Delete, echo),
            TAB => return Event::Complete,
            CTRL_A => self.key(Key::Home, echo),
            CTRL_E => self.key(Key::End, echo),
            CTRL_B => self.key(Key::Left, echo),
            CTRL_F => self.key(Key::Right, echo),
            CTRL_P => self.key(Key::Up, echo),
            CTRL_N => self.key(Key::Down, echo),
            BACKSPACE | DELETE if self.cursor > 0 => self.delete(self.before_cursor(), self.cursor, echo),
            CTRL_U => self.delete(0, self.line.len(), echo),
            CTRL_K => self.delete(self.cursor, self.line.len(), echo),
            CTRL_W => self.delete(self.word_start(), self.cursor, echo),
            0x20..=0x7e => self.insert(char::from(byte), echo),
            0x80..=0xff => self.utf8(byte, partial, echo),
            _ => {}
        }
        Event::None
    }

    /// The entered lines still remembered, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    /// The line being edited, as displayed.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// Where the cursor is in [`line`](Self::line), in bytes from its start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The word before the cursor (back to a blank or a shell operator), and what it
    /// names ([`WordAt`]).
    pub fn word_before_cursor(&self) -> (&str, WordAt) {
        let before = &self.line[..self.cursor];
        let start = before.rfind(|c: char| c == ' ' || "|;&<>".contains(c)).map_or(0, |i| i + 1);
        let rest = before[..start].trim_end_matches(' ');
        let at = if rest.ends_with('|') && !rest.ends_with("||") {
            WordAt::PipedCommand
        } else if rest.is_empty() || rest.ends_with(['|', ';', '&']) {
            WordAt::Command
        } else {
            WordAt::Argument
        };
        (&before[start..], at)
    }

    /// Inserts `text` (printable: other characters are dropped) at the cursor.
    pub fn insert_text(&mut self, text: &str, echo: &mut Vec<u8>) {
        for c in text.chars().filter(|c| !c.is_control()) {
            self.insert(c, echo);
        }
    }

    /// Appends to `echo` the bytes that display the line again, cursor in place, on a fresh
    /// row after the prompt: for when other output has overwritten it.
    pub fn redraw(&self, echo: &mut Vec<u8>) {
        echo.extend_from_slice(self.line.as_bytes());
        move_left(echo, cells(&self.line[self.cursor..]));
    }

    /// Acts on an editing key.
    fn key(&mut self, key: Key, echo: &mut Vec<u8>) {
        match key {
            Key::Left if self.cursor > 0 => {
                self.cursor = self.before_cursor();
                echo.extend_from_slice(b"\x1b[D");
            }
            Key::Right if self.cursor < self.line.len() => {
                let next = self.after_cursor();
                echo.extend_from_slice(&self.line.as_bytes()[self.cursor..next]);
                self.cursor = next;
            }
            Key::Home => {
                move_left(echo, cells(&self.line[..self.cursor]));
                self.cursor = 0;
            }
            Key::End => {
                echo.extend_from_slice(&self.line.as_bytes()[self.cursor..]);
                self.cursor = self.line.len();
            }
            Key::Delete if self.cursor < self.line.len() => self.delete(self.cursor, self.after_cursor(), echo),
            Key::Up => self.history_up(echo),
            Key::Down => self.history_down(echo),
            Key::Left | Key::Right | Key::Delete => {}
        }
    }

    /// Where the character before the cursor starts.
    fn before_cursor(&self) -> usize {
        self.line[..self.cursor].char_indices().next_back().map_or(0, |(i, _)| i)
    }

    /// Where the character under the cursor ends.
    fn after_cursor(&self) -> usize {
        self.line[self.cursor..].chars().next().map_or(self.cursor, |c| self.cursor + c.len_utf8())
    }

    /// Takes a byte of a UTF-8 character (`partial`: how many of its bytes came before):
    /// inserts the character once whole; a byte that cannot continue it starts anew or
    /// is dropped.
    fn utf8(&mut self, byte: u8, partial: usize, echo: &mut Vec<u8>) {
        let continuation = byte & 0xc0 == 0x80;
        let have = match (partial, continuation) {
            (0, true) => return, // nothing to continue
            (_, false) => 0,     // a lead byte: a new character
            (have, true) => have,
        };
        self.partial.0[have] = byte;
        let bytes = &self.partial.0[..have + 1];
        let needed = match bytes[0] {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => return, // not a lead byte UTF-8 allows
        };
        if bytes.len() < needed {
            self.partial.1 = bytes.len();
            return;
        }
        // (C1 controls, U+0080–U+009F, are control bytes too: a terminal may take U+009B
        // for the start of an escape sequence.)
        if let Some(c) = core::str::from_utf8(bytes).ok().and_then(|s| s.chars().next()).filter(|c| !c.is_control()) {
            self.insert(c, echo);
        }
    }

    /// Inserts one printable character at the cursor.
    fn insert(&mut self, c: char, echo: &mut Vec<u8>) {
        if self.line.len() + c.len_utf8() > LINE_CAPACITY {
            echo.push(BELL);
            self.overlong = true;
            return;
        }
        self.line.insert(self.cursor, c);
        echo.extend_from_slice(&self.line.as_bytes()[self.cursor..]);
        self.cursor += c.len_utf8();
        move_left(echo, cells(&self.line[self.cursor..]));
    }

    /// Removes `line[from..to]`, which must contain or touch the cursor, and leaves the
    /// cursor at `from`: moves the cursor there, redraws the tail, blanks the freed cells and
    /// moves back.
    fn delete(&mut self, from: usize, to: usize, echo: &mut Vec<u8>) {
        if from == to {
            return;
        }
        move_left(echo, cells(&self.line[from..self.cursor]));
        let removed = cells(&self.line[from..to]);
        self.line.replace_range(from..to, "");
        self.cursor = from;
        echo.extend_from_slice(&self.line.as_bytes()[from..]);
        blank(echo, removed);
        move_left(echo, cells(&self.line[from..]) + removed);
    }

    /// Where the word before the cursor starts (blanks between it and the cursor included).
    fn word_start(&self) -> usize {
        let before = self.line[..self.cursor].trim_end_matches(' ');
        before.rfind(' ').map_or(0, |space| space + 1)
    }

    /// Replaces the displayed line with `text`, cursor at its end.
    fn show(&mut self, text: String, echo: &mut Vec<u8>) {
        move_left(echo, cells(&self.line[..self.cursor]));
        echo.extend_from_slice(text.as_bytes());
        let leftover = cells(&self.line).saturating_sub(cells(&text));
        blank(echo, leftover);
        move_left(echo, leftover);
        self.line = text;
        self.cursor = self.line.len();
    }

    /// Shows the history entry before the one displayed (the newest at first).
    fn history_up(&mut self, echo: &mut Vec<u8>) {
        let index = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = self.line.clone();
                self.history.len() - 1
            }
            Some(0) => return,
            Some(index) => index - 1,
        };
        self.browsing = Some(index);
        self.show(self.history[index].clone(), echo);
    }

    /// Shows the history entry after the one displayed, or past the newest the line that was
    /// being typed.
    fn history_down(&mut self, echo: &mut Vec<u8>) {
        let Some(index) = self.browsing else { return };
        if index + 1 < self.history.len() {
            self.browsing = Some(index + 1);
            self.show(self.history[index + 1].clone(), echo);
        } else {
            self.browsing = None;
            let draft = core::mem::take(&mut self.draft);
            self.show(draft, echo);
        }
    }

    /// Finishes the line: echoes the new line, remembers it and starts an empty one.
    fn enter(&mut self, echo: &mut Vec<u8>) -> String {
        echo.extend_from_slice(b"\r\n");
        let line = core::mem::take(&mut self.line);
        self.reset();
        let blank = line.trim().is_empty();
        let repeated = self.history.back() == Some(&line);
        if !blank && !repeated && self.history_capacity > 0 {
            if self.history.len() == self.history_capacity {
                self.history.pop_front();
            }
            self.history.push_back(line.clone());
        }
        line
    }

    /// Starts an empty line, leaving the history walk.
    fn reset(&mut self) {
        self.overlong = false;
        self.line.clear();
        self.cursor = 0;
        self.browsing = None;
        self.draft.clear();
    }
}

/// How many cells of the screen `text` takes (a character each).
fn cells(text: &str) -> usize {
    text.chars().count()
}

/// Moves the terminal's cursor `count` cells left.
fn move_left(echo: &mut Vec<u8>, count: usize) {
    echo.extend(core::iter::repeat_n(BACKSPACE, count));
}

/// Writes `count` spaces.
fn blank(echo: &mut Vec<u8>, count: usize) {
    echo.extend(core::iter::repeat_n(b' ', count));
}

/// What completing `word` with `candidates` (each a whole word that starts with it)
/// adds: the rest of the only candidate followed by `end` (`" "`, or `"/"` for a
/// directory), or the rest of what all candidates share; `true` when that adds nothing
/// and there is a choice to show. What the shell would take apart (a blank, a quote, an
/// operator) or take for a pattern (`*`, `?`, `[`) is added escaped with a backslash.
pub fn completion(word: &str, candidates: &[String], end: &str) -> (String, bool) {
    let (added, show) = shared_rest(word, candidates, end);
    let escaped = |text: &str| {
        let mut out = String::new();
        for c in text.chars() {
            if " \t'\"\\|&;<>#$*?[".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    match added.strip_suffix(end).filter(|_| candidates.len() == 1) {
        Some(name) => (escaped(name) + end, show),
        None => (escaped(&added), show),
    }
}

/// [`completion`] before escaping.
fn shared_rest(word: &str, candidates: &[String], end: &str) -> (String, bool) {
    match candidates {
        [] => (String::new(), false),
        [only] => (String::from(&only[word.len().min(only.len())..]) + end, false),
        [first, rest @ ..] => {
            let mut shared = first.len();
            for other in rest {
                shared = shared.min(first.bytes().zip(other.bytes()).take_while(|(a, b)| a == b).count());
            }
            while !first.is_char_boundary(shared) {
                shared -= 1;
            }
            let added = String::from(first.get(word.len()..shared).unwrap_or(""));
            let show = added.is_empty();
            (added, show)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::ToString;
    use std::vec;

    /// What a terminal shows on the row being edited: it interprets the echo the way a
    /// VT100 would, for the bytes the editor sends.
    #[derive(Default)]
    struct Screen {
        row: Vec<char>,
        column: usize,
        /// The bytes of a UTF-8 character begun.
        partial: Vec<u8>,
        /// Rows finished with `\r\n`, most recent last.
        scrolled: Vec<String>,
    }

    impl Screen {
        fn show(&mut self, echo: &[u8]) {
            let mut bytes = echo.iter().copied();
            while let Some(byte) = bytes.next() {
                match byte {
                    b'\r' => self.column = 0,
                    b'\n' => {
                        let row: String = core::mem::take(&mut self.row).into_iter().collect();
                        self.scrolled.push(row.trim_end().to_string());
                    }
                    BACKSPACE => self.column = self.column.checked_sub(1).expect("moved left of the line"),
                    BELL => {}
                    ESCAPE => {
                        assert_eq!((bytes.next(), bytes.next()), (Some(b'['), Some(b'D')), "only `ESC [ D` is sent");
                        self.column = self.column.checked_sub(1).expect("moved left of the line");
                    }
                    0x20..=0x7e => self.put(char::from(byte)),
                    0x80..=0xff => {
                        self.partial.push(byte);
                        if let Ok(text) = core::str::from_utf8(&self.partial) {
                            let c = text.chars().next().unwrap();
                            self.partial.clear();
                            self.put(c);
                        }
                        assert!(self.partial.len() < 4, "not UTF-8: {:x?}", self.partial);
                    }
                    _ => panic!("unexpected echo byte {byte:#x}"),
                }
            }
        }

        /// Shows `c` in the cell under the cursor, and moves right.
        fn put(&mut self, c: char) {
            assert!(self.partial.is_empty(), "a character cut by {c:?}");
            if self.column == self.row.len() {
                self.row.push(c);
            } else {
                self.row[self.column] = c;
            }
            self.column += 1;
        }

        /// The row's text, with the blanks that erased characters dropped.
        fn text(&self) -> String {
            self.row.iter().collect::<String>().trim_end().to_string()
        }
    }

    /// Feeds `bytes` one at a time, checking after each that the screen matches the
    /// editor; returns the events (other than `None`) and the whole echo.
    fn type_bytes(editor: &mut Editor, screen: &mut Screen, bytes: &[u8]) -> (Vec<Event>, Vec<u8>) {
        let mut events = Vec::new();
        let mut all_echo = Vec::new();
        for &byte in bytes {
            let mut echo = Vec::new();
            let event = editor.feed(byte, &mut echo);
            screen.show(&echo);
            if editor.escape == Escape::Idle {
                assert_eq!(screen.text(), editor.line().trim_end(), "after {byte:#x}");
                assert_eq!(screen.column, cells(&editor.line()[..editor.cursor()]), "after {byte:#x}");
            }
            if event != Event::None {
                events.push(event);
            }
            all_echo.extend(echo);
        }
        (events, all_echo)
    }

    /// Feeds `bytes` to `editor` on a screen that shows its line as [`Editor::redraw`] puts
    /// it back.
    fn type_into(editor: &mut Editor, bytes: &[u8]) -> (Vec<Event>, Vec<u8>) {
        let mut screen = Screen::default();
        let mut redraw = Vec::new();
        editor.redraw(&mut redraw);
        screen.show(&redraw);
        type_bytes(editor, &mut screen, bytes)
    }

    /// Feeds `bytes` to a new editor.
    fn typed(bytes: &[u8]) -> (Editor, Vec<Event>, Vec<u8>) {
        let mut editor = Editor::default();
        let (events, echo) = type_into(&mut editor, bytes);
        (editor, events, echo)
    }

    fn line(text: &str) -> Event {
        Event::Line(text.to_string())
    }

    #[test]
    fn tab_asks_for_a_completion_of_the_word_before_the_cursor() {
        let (mut editor, events, _) = typed(b"ec\t");
        assert_eq!(events, [Event::Complete]);
        assert_eq!(editor.word_before_cursor(), ("ec", WordAt::Command));
        let mut echo = Vec::new();
        editor.insert_text("ho ", &mut echo);
        assert_eq!((editor.line(), &echo[..]), ("echo ", &b"ho "[..]));
        use WordAt::{Argument, Command, PipedCommand};
        for (text, word, command) in [
            ("cat /tmp/a", "/tmp/a", Argument),
            ("ls /tmp/*.t", "/tmp/*.t", Argument),
            ("echo x | w", "w", PipedCommand),
            ("echo x |w", "w", PipedCommand),
            ("false || w", "w", Command),
            ("a && b; c", "c", Command),
            ("cat <in", "in", Argument),
            ("sleep 1 &", "", Command),
            ("cat x ", "", Argument),
            ("", "", Command),
        ] {
            let (editor, _, _) = typed(text.as_bytes());
            assert_eq!(editor.word_before_cursor(), (word, command), "{text:?}");
        }
        let (editor, _, _) = typed(b"cat /tm more\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D");
        assert_eq!(editor.word_before_cursor(), ("/tm", Argument), "up to the cursor");
    }

    #[test]
    fn a_completion_adds_the_rest_of_one_candidate_or_what_all_share() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(completion("ec", &names(&["echo"]), " "), ("ho ".to_string(), false));
        assert_eq!(completion("d", &names(&["demo-pi", "demo-shm"]), " "), ("emo-".to_string(), false));
        assert_eq!(completion("demo-", &names(&["demo-pi", "demo-shm"]), " "), (String::new(), true), "a choice");
        assert_eq!(completion("x", &names(&[]), " "), (String::new(), false), "nothing");
        assert_eq!(completion("t", &names(&["tmp"]), "/"), ("mp/".to_string(), false));
        assert_eq!(completion("é", &names(&["éa", "éb"]), " "), (String::new(), true), "whole characters");
        assert_eq!(completion("sp", &names(&["sp ace"]), " "), ("\\ ace ".to_string(), false), "escaped");
        assert_eq!(completion("a", &names(&["a&b", "a&c"]), " "), ("\\&".to_string(), false));
        let pattern = completion("a", &names(&["a*[1]?"]), " ");
        assert_eq!(pattern, ("\\*\\[1]\\? ".to_string(), false), "a name is no pattern");
    }

    #[test]
    fn typing_and_enter() {
        let (editor, events, echo) = typed(b"ls -l /dev\r");
        assert_eq!(events, [line("ls -l /dev")]);
        assert_eq!(echo, b"ls -l /dev\r\n");
        assert_eq!((editor.line(), editor.cursor()), ("", 0));
        assert_eq!(editor.history().collect::<Vec<_>>(), ["ls -l /dev"]);
        let (_, events, echo) = typed(b"\r");
        assert_eq!((events, echo), (vec![line("")], b"\r\n".to_vec()), "an empty line is a line too");
    }

    #[test]
    fn carriage_return_and_line_feed_are_one_enter() {
        let (_, events, echo) = typed(b"a\r\nb\nc\r\rd\n\n");
        assert_eq!(events, [line("a"), line("b"), line("c"), line(""), line("d"), line("")]);
        assert_eq!(echo, b"a\r\nb\r\nc\r\n\r\nd\r\n\r\n");
        let mut editor = Editor::default();
        assert_eq!(type_into(&mut editor, b"x\r").0, [line("x")]);
        assert_eq!(type_into(&mut editor, b"\n").0, [], "the `\\n` of a `\\r\\n` split across feeds");
    }

    #[test]
    fn backspace_at_the_end_and_in_the_middle() {
        let (editor, _, echo) = typed(b"abc\x7f\x08");
        assert_eq!(editor.line(), "a");
        assert_eq!(echo, b"abc\x08 \x08\x08 \x08");
        let (editor, _, echo) = typed(b"abcd\x1b[D\x1b[D\x7f");
        assert_eq!((editor.line(), editor.cursor()), ("acd", 1));
        assert_eq!(&echo[b"abcd\x1b[D\x1b[D".len()..], b"\x08cd \x08\x08\x08", "the tail moves left");
        let (editor, _, echo) = typed(b"\x7fab\x01\x7f");
        assert_eq!((editor.line(), echo), ("ab", b"ab\x08\x08".to_vec()), "nothing before the cursor");
    }

    #[test]
    fn inserting_in_the_middle_redraws_the_tail() {
        let (editor, events, echo) = typed(b"ac\x1b[Db");
        assert_eq!((editor.line(), editor.cursor()), ("abc", 2));
        assert_eq!(echo, b"ac\x1b[Dbc\x08");
        assert_eq!(events, []);
        let (editor, events, _) = typed(b"world\x01hello \r");
        assert_eq!(events, [line("hello world")]);
        assert_eq!(editor.line(), "");
    }

    #[test]
    fn cursor_movement() {
        let (editor, _, echo) = typed(b"abc\x1b[D\x1b[D\x1b[C");
        assert_eq!(editor.cursor(), 2);
        assert_eq!(&echo[3..], b"\x1b[D\x1b[Db", "Right reprints the character it passes");
        let (editor, _, echo) = typed(b"ab\x1b[C\x1b[D\x1b[D\x1b[D");
        assert_eq!(editor.cursor(), 0, "stops at both ends");
        assert_eq!(&echo[2..], b"\x1b[D\x1b[D");
        for home in [&b"\x01"[..], b"\x1b[H", b"\x1b[1~", b"\x1bOH", b"\x1b[7~"] {
            let (editor, _, echo) = typed(&[b"abc", home].concat());
            assert_eq!(editor.cursor(), 0, "{home:?}");
            assert_eq!(&echo[3..], b"\x08\x08\x08", "{home:?}");
            for end in [&b"\x05"[..], b"\x1b[F", b"\x1b[4~", b"\x1bOF", b"\x1b[8~"] {
                let (editor, _, echo) = typed(&[b"abc", home, end].concat());
                assert_eq!(editor.cursor(), 3, "{end:?}");
                assert_eq!(&echo[6..], b"abc", "{end:?}");
            }
        }
        let (editor, _, _) = typed(b"abc\x02\x02\x06");
        assert_eq!(editor.cursor(), 2, "Ctrl-B and Ctrl-F");
        let (editor, _, _) = typed(b"abc\x1bOD\x1b[1;5D");
        assert_eq!(editor.cursor(), 1, "application mode and modifiers");
    }

    #[test]
    fn ctrl_c_discards_the_line() {
        let mut editor = Editor::default();
        let (events, echo) = type_into(&mut editor, b"rm -rf\x03");
        assert_eq!((events, echo), (vec![Event::Interrupt], b"rm -rf^C\r\n".to_vec()));
        assert_eq!((editor.line(), editor.cursor()), ("", 0));
        assert_eq!(editor.history().count(), 0);
        assert_eq!(type_into(&mut editor, b"ls\r").0, [line("ls")]);
    }

    #[test]
    fn ctrl_d_ends_input_on_an_empty_line_only() {
        let (_, events, echo) = typed(b"\x04");
        assert_eq!((events, echo), (vec![Event::Eof], vec![]));
        let (editor, events, echo) = typed(b"abc\x01\x04");
        assert_eq!(events, []);
        assert_eq!((editor.line(), editor.cursor()), ("bc", 0));
        assert_eq!(&echo[6..], b"bc \x08\x08\x08", "deletes under the cursor");
        let (editor, events, _) = typed(b"abc\x04");
        assert_eq!((editor.line(), events), ("abc", vec![]), "nothing under the cursor at the end");
        let (editor, events, _) = typed(b"ab\x7f\x7f\x04");
        assert_eq!((editor.line(), events), ("", vec![Event::Eof]), "emptied by editing counts");
        let (editor, _, _) = typed(b"abc\x1b[D\x1b[D\x1b[3~");
        assert_eq!((editor.line(), editor.cursor()), ("ac", 1), "the Delete key");
    }

    #[test]
    fn clearing_and_killing() {
        let (editor, _, echo) = typed(b"hello\x1b[D\x1b[D\x15");
        assert_eq!((editor.line(), editor.cursor()), ("", 0));
        assert_eq!(&echo[b"hello\x1b[D\x1b[D".len()..], b"\x08\x08\x08     \x08\x08\x08\x08\x08");
        let (editor, _, _) = typed(b"hello\x1b[D\x1b[D\x0b");
        assert_eq!((editor.line(), editor.cursor()), ("hel", 3), "Ctrl-K");
        let (editor, _, _) = typed(b"cat  some file  \x17");
        assert_eq!(editor.line(), "cat  some ", "Ctrl-W");
        let (editor, _, _) = typed(b"cat some file\x1b[D\x1b[D\x17\x17");
        assert_eq!((editor.line(), editor.cursor()), ("cat le", 4));
        let (editor, _, _) = typed(b"word\x17");
        assert_eq!(editor.line(), "");
    }

    #[test]
    fn history_walks_up_and_down() {
        let mut editor = Editor::default();
        type_into(&mut editor, b"first\rsecond\rthird\r");
        let mut screen = Screen::default();
        let (_, echo) = type_bytes(&mut editor, &mut screen, b"dra\x1b[A");
        assert_eq!(editor.line(), "third");
        assert_eq!(&echo[3..], b"\x08\x08\x08third", "the draft is overwritten");
        let (_, echo) = type_bytes(&mut editor, &mut screen, b"\x1b[A");
        assert_eq!((editor.line(), &echo[..]), ("second", &b"\x08\x08\x08\x08\x08second"[..]));
        type_bytes(&mut editor, &mut screen, b"\x1b[A\x1b[A\x1b[A");
        assert_eq!(editor.line(), "first", "stops at the oldest");
        let (_, echo) = type_bytes(&mut editor, &mut screen, b"\x1b[B\x1b[B\x1b[B");
        assert_eq!(editor.line(), "dra", "the draft comes back");
        assert!(echo.ends_with(b"\x08\x08\x08\x08\x08dra  \x08\x08"), "leftovers are blanked: {echo:?}");
        type_bytes(&mut editor, &mut screen, b"\x1b[B");
        assert_eq!(editor.line(), "dra", "nothing past the draft");
        let (events, _) = type_bytes(&mut editor, &mut screen, b"\x10\x10 again\x0e\x10\r");
        assert_eq!(events, [line("second")], "Ctrl-P/N; edits to an entry are dropped on leaving it");
        assert_eq!(editor.history().collect::<Vec<_>>(), ["first", "second", "third", "second"]);
    }

    #[test]
    fn history_keeps_the_newest_entries() {
        let mut editor = Editor::new(20);
        for i in 0..25 {
            type_into(&mut editor, format!("command {i}\r").as_bytes());
        }
        let expected: Vec<String> = (5..25).map(|i| format!("command {i}")).collect();
        assert_eq!(editor.history().collect::<Vec<_>>(), expected);
        type_into(&mut editor, &b"\x1b[A".repeat(30));
        assert_eq!(editor.line(), "command 5");
        type_into(&mut editor, &b"\x1b[B".repeat(19));
        assert_eq!(editor.line(), "command 24");
        type_into(&mut editor, b"\x1b[B");
        assert_eq!(editor.line(), "");
        let mut none = Editor::new(0);
        type_into(&mut none, b"ls\r\x1b[A");
        assert_eq!((none.history().count(), none.line()), (0, ""), "a capacity of 0 keeps nothing");
    }

    #[test]
    fn history_skips_blank_and_repeated_lines() {
        let mut editor = Editor::default();
        type_into(&mut editor, b"ls\r\r   \rls\rpwd\rls\r");
        assert_eq!(editor.history().collect::<Vec<_>>(), ["ls", "pwd", "ls"]);
        type_into(&mut editor, b"\x1b[A\r");
        assert_eq!(editor.history().count(), 3, "a recalled newest entry is not repeated");
    }

    #[test]
    fn escape_sequences_split_across_feeds() {
        let mut editor = Editor::default();
        let mut echo = Vec::new();
        for byte in *b"ab\x1b[" {
            assert_eq!(editor.feed(byte, &mut echo), Event::None);
        }
        assert_eq!(editor.feed(b'D', &mut echo), Event::None);
        assert_eq!(editor.cursor(), 1);
        for byte in *b"\x1b[3" {
            editor.feed(byte, &mut echo);
        }
        assert_eq!(editor.line(), "ab", "not yet");
        editor.feed(b'~', &mut echo);
        assert_eq!((editor.line(), editor.cursor()), ("a", 1));
    }

    #[test]
    fn unknown_keys_are_consumed_and_ignored() {
        let noise: [&[u8]; 11] = [
            b"\x1b[15~",         // F5
            b"\x1b[200~",        // bracketed paste start
            b"\x1b[?25h",        // private mode
            b"\x1b[2~",          // Insert
            b"\x1b[6;5~",        // Ctrl-Page Down
            b"\x1bOP",           // F1
            b"\x1bx",            // Alt-x
            b"\x1b[99999Z",      // an overlong parameter
            b"\x0c\x07\x1a",     // Ctrl-L, Ctrl-G, Ctrl-Z
            b"\xff\x80\xc0\xaf", // bytes that make no UTF-8 character
            b"\xc2\x9b",         // U+009B, a C1 control
        ];
        for bytes in noise {
            let (editor, events, echo) = typed(&[b"ab", bytes, b"c"].concat());
            assert_eq!((editor.line(), events, &echo[..]), ("abc", vec![], &b"abc"[..]), "{bytes:?}");
        }
        let (editor, _, _) = typed(b"ab\x1b[1\x7fc\x1b\x1b[D");
        assert_eq!((editor.line(), editor.cursor()), ("ac", 1), "a control byte breaks a sequence off");
        let (_, events, _) = typed(b"ab\x1b\r");
        assert_eq!(events, [line("ab")]);
    }

    #[test]
    fn the_line_has_a_capacity() {
        let mut editor = Editor::default();
        type_into(&mut editor, &[b'x'; LINE_CAPACITY]);
        let (_, echo) = type_into(&mut editor, b"y");
        assert_eq!((editor.line().len(), echo), (LINE_CAPACITY, vec![BELL]));
        assert_eq!(type_into(&mut editor, b"\r").0, [Event::Overlong], "not run cut");
        assert_eq!(type_into(&mut editor, b"ok\r").0, [line("ok")], "the next line is whole");
    }

    #[test]
    fn utf8_characters_are_one_cell_each() {
        let (editor, events, echo) = typed("né\x1b[D€ü\x7f\r".as_bytes());
        assert_eq!(events, [line("n€é")]);
        assert_eq!(echo, "né\x1b[D€é\x08üé\x08\x08é \x08\x08\r\n".as_bytes());
        let (editor2, _, _) = typed("aé😀\x1b[D\x1b[D\x1b[3~\x05\x08".as_bytes());
        assert_eq!((editor2.line(), editor2.cursor()), ("a", 1), "Delete and Backspace take whole characters");
        let (editor3, _, echo) = typed(b"a\xc3\xa9\xa9\xff\xe2\x82b\xe2\x82\xac");
        assert_eq!(editor3.line(), "aéb€", "bytes that make no character are dropped");
        assert_eq!(echo, "aéb€".as_bytes());
        assert_eq!(editor.history().collect::<Vec<_>>(), ["n€é"]);
    }

    #[test]
    fn redraw_puts_the_line_back() {
        let (editor, _, _) = typed(b"echo hi\x1b[D\x1b[D");
        let mut echo = Vec::new();
        editor.redraw(&mut echo);
        assert_eq!(echo, b"echo hi\x08\x08");
        let mut screen = Screen::default();
        screen.show(&echo);
        assert_eq!((screen.text().as_str(), screen.column), (editor.line(), editor.cursor()));
    }

    /// A long pseudo-random mix of keys keeps the screen and the editor in step (checked
    /// after every byte by `type_bytes`).
    #[test]
    fn the_screen_follows_every_key() {
        let keys: [&[u8]; 23] = [
            "é".as_bytes(),
            "€".as_bytes(),
            "😀".as_bytes(),
            b"a",
            b"b",
            b" ",
            b"x",
            b"\x7f",
            b"\x08",
            b"\x1b[D",
            b"\x1b[C",
            b"\x1b[A",
            b"\x1b[B",
            b"\x01",
            b"\x05",
            b"\x04",
            b"\x1b[3~",
            b"\x15",
            b"\x0b",
            b"\x17",
            b"\r",
            b"\x03",
            b"\x1b[1;2A",
        ];
        let mut editor = Editor::new(5);
        let mut screen = Screen::default();
        let mut seed: u32 = 0x1234_5678;
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let key = keys[(seed >> 16) as usize % keys.len()];
            let (events, _) = type_bytes(&mut editor, &mut screen, key);
            if events.contains(&Event::Eof) {
                assert_eq!(editor.line(), "");
            }
        }
        assert!(editor.history().count() <= 5);
    }
}
