//! The command-line grammar: [`parse`] turns one line into the [`Job`]s it asks for. A line
//! holds jobs separated by `;`, `&&` (run the next only if this one succeeded), `||` (only
//! if it failed) or ended by `&` (which runs the job in the background: the pipeline before
//! it, not a whole `&&` list); a job is a pipeline `cmd1 | cmd2 | ...`; a command is its
//! words plus at most one `<` input, one `>`, `>>` or `>&2` output and one `2>`, `2>>` or
//! `2>&1` error redirection (`2>&1`: where the output goes; `>&2`, also written `1>&2`:
//! where the errors go).
//!
//! Quoting follows the POSIX shell, minus everything that expands but `$?`, `$!` and
//! pathname patterns: words split on spaces and tabs; single quotes keep everything literally;
//! double quotes keep spaces and let `\"` and `\\` stand for themselves (any other
//! backslash in them is literal); a backslash outside quotes makes the next character
//! literal. `$?` outside single quotes (and not escaped) stands for the status of the last
//! job that ran before it, `$!` for the pid of the last job started in the background
//! (nothing before the first); then a word holding a pattern (`*`, `?`, `[...]`, unquoted and
//! not escaped: `'*'`, `"*"` and `\*` are a plain `*`) is replaced by the sorted paths it
//! matches, or kept as written (quotes removed) if it matches none ([`glob`]). Both
//! are done as each job runs ([`parse_for_running`], [`UnexpandedJob::expand`]), so that
//! a job sees the status and the files the jobs before it on the line left (`touch
//! /tmp/x ; ls /tmp/*` lists `x`); [`parse`] expands nothing. Redirections' file names
//! are not patterns (`> *` writes a file called `*`), as in a non-interactive sh.
//! `<`, `>`, `>>`, `|`, `||`, `&`, `&&` and `;` are operators
//! wherever they stand unquoted (`echo hi>out` writes `hi` to `out`); an unquoted number
//! right before `<` or `>` names the descriptor (`0<`, `1>`, `2>`, `2>>`; `2>&1` sends
//! errors where the output goes at that point, so `2>&1 > f` leaves them on the screen,
//! and `>&2` the output where the errors go at that point: `>&2 2> f` leaves it there),
//! and `#` at the start of a word begins a comment that runs to the end of the line.
//! There are no variables, `~`, here-documents, other descriptors, or `&` after an
//! `&&`/`||` list (a parse error: POSIX would run the whole list in the background).
//!
//! The parse is done in two steps: `tokenize` splits the line into words and operators, then
//! `parse` groups the tokens into commands, pipelines and jobs. Parsed for running, the
//! words are in a *marked form* until their job runs: two characters that no line typed
//! at the console holds keep what only running tells — `STATUS_MARK` for `$?`,
//! `BACKGROUND_MARK` for `$!`, and
//! `QUOTE_MARK` before each character that stands for itself: one quoted or escaped
//! (`'*'` is no pattern), or a mark's character that came in a line (a script may hold any
//! character). [`UnexpandedJob::expand`] reads them (`unmark`) and leaves none in the
//! [`Job`] it gives; an [`UnexpandedJob`] gives up its words no other way.

use crate::glob::{self, WordChar};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// One pipeline to start, in the foreground or in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its commands, left to right; each one's output feeds the next one's input.
    /// Never empty.
    pub pipeline: Vec<Command>,
    /// Whether the job ended with `&`: the shell does not wait for it.
    pub background: bool,
    /// Whether it runs, by the status the last job that ran left (`&&`, `||`).
    pub condition: Condition,
}

impl Job {
    /// The job as `jobs` and its `started`/`done` lines show it: each command's words and
    /// the redirections that took effect (`cat f > out`; two `cat f &` writing to different
    /// files looked the same).
    pub fn command_line(&self) -> String {
        let mut line = String::new();
        for (i, command) in self.pipeline.iter().enumerate() {
            if i > 0 {
                line.push_str(" | ");
            }
            line.push_str(&command.argv.join(" "));
            let mut redirect = |operator: &str, path: &str| {
                line.push_str(operator);
                line.push_str(path);
            };
            if let Some(path) = &command.stdin {
                redirect(" < ", path);
            }
            if command.stderr == Some(ErrorRedirect::ToUnredirectedOutput) {
                redirect(" 2>&1", "");
            }
            if let Some(output) = &command.stdout {
                redirect(if output.append { " >> " } else { " > " }, &output.path);
            }
            if command.output_to_error {
                redirect(" >&2", "");
            }
            match &command.stderr {
                Some(ErrorRedirect::File(error)) => redirect(if error.append { " 2>> " } else { " 2> " }, &error.path),
                Some(ErrorRedirect::ToOutput) => redirect(" 2>&1", ""),
                Some(ErrorRedirect::ToUnredirectedOutput) | None => {}
            }
        }
        line
    }
}

/// When a job runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Condition {
    /// Always (the line's first job, or after `;` or `&`).
    #[default]
    Always,
    /// After `&&`: if the last job that ran succeeded (status 0).
    IfSucceeded,
    /// After `||`: if it failed.
    IfFailed,
}

impl Condition {
    /// Whether a job with this condition runs after a job that ran ended with `status`.
    pub fn holds(self, status: u32) -> bool {
        match self {
            Condition::Always => true,
            Condition::IfSucceeded => status == 0,
            Condition::IfFailed => status != 0,
        }
    }
}

/// One program to run, with its arguments and redirections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The program's name followed by its arguments, quotes removed (and, in a job about
    /// to run, expanded: [`UnexpandedJob::expand`]). Never empty.
    pub argv: Vec<String>,
    /// The file to read standard input from (`< path`), if any.
    pub stdin: Option<String>,
    /// Where to write standard output (`> path` or `>> path`), if anywhere.
    pub stdout: Option<Redirect>,
    /// `>&2` (or `1>&2`) while standard error was not redirected: standard output goes
    /// where the shell's standard error goes (then `stdout` is `None`). After `2> path`,
    /// `>&2` is a `stdout` that appends to that file, which `2>` made.
    pub output_to_error: bool,
    /// Where to write standard error (`2> path`, `2>> path`, `2>&1`), if anywhere.
    pub stderr: Option<ErrorRedirect>,
    /// Every redirection to or from a file, in the order written, those a later one of
    /// the same stream replaced included (`> a > b`: both). sh opens each in turn —
    /// creating or emptying an output file, and not running the command if one cannot be
    /// opened — so the shell opens them all, in order, before the command runs.
    pub files: Vec<FileRedirect>,
}

/// A redirection to or from a file ([`Command::files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRedirect {
    /// `< path`.
    Input(String),
    /// `> path`, `>> path`, `2> path` or `2>> path`.
    Output(Redirect),
}

/// A standard-error redirection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorRedirect {
    /// `2> path` or `2>> path`.
    File(Redirect),
    /// `2>&1` after the output's redirection: the same open file as the output.
    ToOutput,
    /// `2>&1` before any output redirection: where the output would go without one (the
    /// screen, or the pipe to the next command).
    ToUnredirectedOutput,
}

/// An output redirection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The file to write.
    pub path: String,
    /// `>>`: add to the end of the file instead of truncating it (`>`).
    pub append: bool,
}

/// Why a line does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// A `'` or `"` is never closed.
    UnterminatedQuote,
    /// The line ends with a `\` that has nothing to escape.
    DanglingEscape,
    /// A `<`, `>` or `>>` is not followed by a file name.
    MissingRedirectTarget,
    /// A redirection of a descriptor other than 0, 1 and 2, or a duplication other
    /// than `2>&1` and `>&2` (`3> f`, `1<f`, `2>&2`, `>&3`).
    UnsupportedRedirection,
    /// `&` after an `&&` or `||` list.
    BackgroundList,
    /// A `|`, `;`, `&`, `&&` or `||` has no command on one of its sides (`| wc`, `ls |`,
    /// `ls | | wc`, `; ls`, `ls && && wc`), or a command has redirections but no words
    /// (`> out`).
    EmptyCommand,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::UnterminatedQuote => "unterminated quote",
            ParseError::DanglingEscape => "nothing to escape after `\\`",
            ParseError::MissingRedirectTarget => "a redirection needs a file name",
            ParseError::UnsupportedRedirection => "only 0<, 1>, 2> (and >>), 2>&1 and >&2 redirect a descriptor",
            ParseError::BackgroundList => "`&` cannot run an `&&` or `||` list in the background",
            ParseError::EmptyCommand => "empty command next to `|`, `;`, `&`, `&&` or `||`",
        })
    }
}

impl core::error::Error for ParseError {}

/// One piece of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A word, quotes and escapes removed (possibly empty: `''`), in the marked form if
    /// the line is parsed for running.
    Word(String),
    /// `|`
    Pipe,
    /// `&`
    Background,
    /// `;`
    Separator,
    /// `<`
    Input,
    /// `>`
    Output,
    /// `>>`
    Append,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `2>`
    ErrorOutput,
    /// `2>>`
    ErrorAppend,
    /// `2>&1`
    ErrorToOutput,
    /// `>&2`, `1>&2`
    OutputToError,
}

/// Stands for `$?` in the marked form: NUL, which no word typed or passed to a program
/// can hold.
const STATUS_MARK: char = '\0';

/// Stands for `$!` in the marked form: STX (Ctrl-B), which the line editor does not put
/// in a line (one a script holds is marked as quoted, as any mark's character).
const BACKGROUND_MARK: char = '\u{2}';

/// In the marked form, makes the character after it stand for itself: SOH (Ctrl-A), which
/// the line editor does not put in a line.
const QUOTE_MARK: char = '\u{1}';

/// In the marked form, says the word has a quoted part (ETX, Ctrl-C, which the line editor
/// does not put in a line), and stands for nothing: such a word stays an argument even
/// when it expands to nothing (`"$!"`, `''`), where an unquoted one that does goes
/// (`$!` before any background job), as sh's does.
const QUOTED_WORD_MARK: char = '\u{3}';

/// Splits `line` into words and operators, removing quotes, escapes and the comment; if
/// `mark`, the words are in the marked form (`$?` outside single quotes is a
/// [`STATUS_MARK`], quoted characters follow a [`QUOTE_MARK`]).
fn tokenize(line: &str, mark: bool) -> Result<Vec<Token>, ParseError> {
    let quoted = |word: &mut String, c: char| {
        if mark {
            word.push(QUOTE_MARK);
        }
        word.push(c);
    };
    let unquoted = |word: &mut String, c: char| {
        if mark && matches!(c, STATUS_MARK | BACKGROUND_MARK | QUOTE_MARK | QUOTED_WORD_MARK) {
            word.push(QUOTE_MARK);
        }
        word.push(c);
    };
    // A `$`, in double quotes or not: `$?`, `$!` or itself.
    let dollar = |chars: &mut core::iter::Peekable<core::str::Chars>, word: &mut String, in_quotes: bool| {
        if mark && chars.next_if_eq(&'?').is_some() {
            word.push(STATUS_MARK);
        } else if mark && chars.next_if_eq(&'!').is_some() {
            word.push(BACKGROUND_MARK);
        } else if in_quotes {
            quoted(word, '$');
        } else {
            word.push('$');
        }
    };
    let mut tokens = Vec::new();
    let mut word = String::new();
    // Distinguishes "no word" from an empty quoted word (`''`).
    let mut in_word = false;
    // The word so far has no quote or escape (a descriptor number must not).
    let mut plain = true;
    let mut chars = line.chars().peekable();

    while let Some(c) = chars.next() {
        let operator = match c {
            ' ' | '\t' | '\r' | '\n' => None,
            '|' if chars.next_if_eq(&'|').is_some() => Some(Token::Or),
            '|' => Some(Token::Pipe),
            '&' if chars.next_if_eq(&'&').is_some() => Some(Token::And),
            '&' => Some(Token::Background),
            ';' => Some(Token::Separator),
            '<' | '>' => {
                // `N<`, `N>`: the word before, all digits and unquoted, is a descriptor.
                let descriptor = (in_word && plain && !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| core::mem::take(&mut word));
                if descriptor.is_some() {
                    in_word = false;
                }
                Some(redirection(c, descriptor.as_deref(), &mut chars)?)
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                plain = false;
                if mark {
                    word.push(QUOTED_WORD_MARK);
                }
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => quoted(&mut word, c),
                        None => return Err(ParseError::UnterminatedQuote),
                    }
                }
                continue;
            }
            '"' => {
                in_word = true;
                plain = false;
                if mark {
                    word.push(QUOTED_WORD_MARK);
                }
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next_if(|&next| next == '"' || next == '\\') {
                            Some(escaped) => quoted(&mut word, escaped),
                            None => quoted(&mut word, '\\'),
                        },
                        Some('$') => dollar(&mut chars, &mut word, true),
                        Some(c) => quoted(&mut word, c),
                        None => return Err(ParseError::UnterminatedQuote),
                    }
                }
                continue;
            }
            '\\' => {
                in_word = true;
                plain = false;
                quoted(&mut word, chars.next().ok_or(ParseError::DanglingEscape)?);
                continue;
            }
            '$' => {
                in_word = true;
                plain = false;
                dollar(&mut chars, &mut word, false);
                continue;
            }
            _ => {
                in_word = true;
                unquoted(&mut word, c);
                continue;
            }
        };
        // A blank or an operator ends the word in progress.
        if in_word {
            tokens.push(Token::Word(core::mem::take(&mut word)));
            in_word = false;
        }
        plain = true;
        tokens.extend(operator);
    }
    if in_word {
        tokens.push(Token::Word(word));
    }
    Ok(tokens)
}

/// The redirection operator `<` or `>` (`op`, just read) starts, after `descriptor` (the
/// number written before it, if any): `>>` and `2>&1` are read on from `chars`.
fn redirection(
    op: char,
    descriptor: Option<&str>,
    chars: &mut core::iter::Peekable<core::str::Chars>,
) -> Result<Token, ParseError> {
    let unsupported = Err(ParseError::UnsupportedRedirection);
    if op == '<' {
        return match descriptor {
            None | Some("0") => Ok(Token::Input),
            Some(_) => unsupported,
        };
    }
    let append = chars.next_if_eq(&'>').is_some();
    // `>|` is `>` where no `noclobber` is set, which this shell has not.
    if !append && chars.next_if_eq(&'|').is_some() {
        return match descriptor {
            None | Some("1") => Ok(Token::Output),
            Some("2") => Ok(Token::ErrorOutput),
            Some(_) => unsupported,
        };
    }
    if !append && chars.next_if_eq(&'&').is_some() {
        // A duplication: only `2>&1` and `>&2` (`1>&2`), ended as a word would be.
        let mut target = String::new();
        while let Some(c) = chars.next_if(|c| !matches!(c, ' ' | '\t' | '\r' | '\n' | '|' | '&' | ';' | '<' | '>')) {
            target.push(c);
        }
        return match (descriptor, target.as_str()) {
            (Some("2"), "1") => Ok(Token::ErrorToOutput),
            (None | Some("1"), "2") => Ok(Token::OutputToError),
            _ => unsupported,
        };
    }
    match (descriptor, append) {
        (None | Some("1"), false) => Ok(Token::Output),
        (None | Some("1"), true) => Ok(Token::Append),
        (Some("2"), false) => Ok(Token::ErrorOutput),
        (Some("2"), true) => Ok(Token::ErrorAppend),
        _ => unsupported,
    }
}

/// A command being collected.
#[derive(Default)]
struct CommandBuilder {
    argv: Vec<String>,
    stdin: Option<String>,
    stdout: Option<Redirect>,
    output_to_error: bool,
    stderr: Option<ErrorRedirect>,
    files: Vec<FileRedirect>,
}

impl CommandBuilder {
    /// Nothing has been collected: not even a redirection.
    fn is_blank(&self) -> bool {
        let redirected = self.stdin.is_some() || self.stdout.is_some() || self.output_to_error || self.stderr.is_some();
        self.argv.is_empty() && !redirected
    }

    /// The finished command, which must have a word.
    fn finish(self) -> Result<Command, ParseError> {
        if self.argv.is_empty() {
            return Err(ParseError::EmptyCommand);
        }
        let Self { argv, stdin, stdout, output_to_error, stderr, files } = self;
        Ok(Command { argv, stdin, stdout, output_to_error, stderr, files })
    }
}

/// Parses one command line into the jobs it asks for, in order. A blank line or a comment
/// gives no jobs; a trailing `;` is allowed. When a command names the same stream twice
/// (`> a > b`), the last redirection wins; all are kept in [`Command::files`], to be
/// opened in order as sh does.
pub fn parse(line: &str) -> Result<Vec<Job>, ParseError> {
    jobs_of(tokenize(line, false)?)
}

/// [`parse`], for running: each job's words are expanded when it runs
/// ([`UnexpandedJob::expand`]), with the status and the files the jobs before it left
/// (`cat /x ; echo $?` prints cat's status, not the one before the line; `touch /tmp/x ;
/// ls /tmp/*` lists `x`).
pub fn parse_for_running(line: &str) -> Result<Vec<UnexpandedJob>, ParseError> {
    Ok(jobs_of(tokenize(line, true)?)?.into_iter().map(|marked| UnexpandedJob { marked }).collect())
}

/// A job of [`parse_for_running`], its words yet to be expanded. [`expand`](Self::expand)
/// is the only way to the [`Job`] to run, so that what stands for the expansions until
/// then (a mark no word holds) cannot reach a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnexpandedJob {
    /// The job, its words and file names in the marked form.
    marked: Job,
}

impl UnexpandedJob {
    /// When the job runs ([`Job::condition`]).
    pub fn condition(&self) -> Condition {
        self.marked.condition
    }

    /// The job to run after a job that ended with `status`, `last_background` the pid of
    /// the last job started with `&` (if any): `$?` and `$!` replaced by them in its words
    /// and file names, and each word holding a pattern by the paths it matches, if
    /// any ([`glob::expand`], which `list` gives the names of a directory to: `None` if it
    /// cannot). The file names of redirections are not patterns. Fails, naming the word,
    /// if one expands to too many paths ([`glob::TooMany`]).
    pub fn expand(
        &self,
        status: u32,
        last_background: Option<u32>,
        list: &mut impl FnMut(&str) -> Option<Vec<String>>,
    ) -> Result<Job, String> {
        let status = alloc::format!("{status}");
        let background = last_background.map(|pid| alloc::format!("{pid}")).unwrap_or_default();
        let unmark = |marked: &str| unmark(marked, &status, &background);
        let path = |marked: &String| text(&unmark(marked));
        let redirect = |r: &Redirect| Redirect { path: path(&r.path), ..r.clone() };
        let mut pipeline = Vec::new();
        for c in &self.marked.pipeline {
            let mut argv = Vec::new();
            for marked in &c.argv {
                let word = unmark(marked);
                if word.is_empty() && !marked.contains(QUOTED_WORD_MARK) {
                    continue; // (an unquoted word that expands to nothing is no argument)
                }
                match glob::expand(&word, list) {
                    Ok(Some(paths)) => argv.extend(paths),
                    Ok(None) => argv.push(text(&word)),
                    Err(glob::TooMany) => return Err(text(&word)),
                }
            }
            pipeline.push(Command {
                argv,
                stdin: c.stdin.as_ref().map(path),
                stdout: c.stdout.as_ref().map(redirect),
                output_to_error: c.output_to_error,
                stderr: match &c.stderr {
                    Some(ErrorRedirect::File(r)) => Some(ErrorRedirect::File(redirect(r))),
                    other => other.clone(),
                },
                files: c
                    .files
                    .iter()
                    .map(|r| match r {
                        FileRedirect::Input(marked) => FileRedirect::Input(path(marked)),
                        FileRedirect::Output(r) => FileRedirect::Output(redirect(r)),
                    })
                    .collect(),
            });
        }
        Ok(Job { pipeline, ..self.marked.clone() })
    }
}

/// The characters of a word in the marked form, `$?` replaced by `status` and `$!` by
/// `background`, each saying whether it stands for itself (quoted).
fn unmark(marked: &str, status: &str, background: &str) -> Vec<WordChar> {
    let mut word = Vec::with_capacity(marked.len());
    let mut chars = marked.chars();
    while let Some(c) = chars.next() {
        match c {
            // (`tokenize` puts a character after each; were none there, none is added.)
            QUOTE_MARK => word.extend(chars.next().map(|c| WordChar { c, quoted: true })),
            STATUS_MARK => word.extend(status.chars().map(|c| WordChar { c, quoted: false })),
            BACKGROUND_MARK => word.extend(background.chars().map(|c| WordChar { c, quoted: false })),
            QUOTED_WORD_MARK => {}
            c => word.push(WordChar { c, quoted: false }),
        }
    }
    word
}

/// A word's text, as written with its quotes removed.
fn text(word: &[WordChar]) -> String {
    word.iter().map(|c| c.c).collect()
}

/// Groups tokens into commands, pipelines and jobs.
fn jobs_of(tokens: Vec<Token>) -> Result<Vec<Job>, ParseError> {
    let mut jobs = Vec::new();
    let mut pipeline = Vec::new();
    let mut command = CommandBuilder::default();
    let mut condition = Condition::Always;
    let mut tokens = tokens.into_iter();

    while let Some(token) = tokens.next() {
        match token {
            Token::Word(word) => command.argv.push(word),
            Token::Input => {
                let path = redirect_target(tokens.next())?;
                command.files.push(FileRedirect::Input(path.clone()));
                command.stdin = Some(path);
            }
            Token::Output | Token::Append => {
                let redirect = Redirect { path: redirect_target(tokens.next())?, append: token == Token::Append };
                command.files.push(FileRedirect::Output(redirect.clone()));
                command.output_to_error = false;
                let earlier = command.stdout.replace(redirect);
                if let (Some(ErrorRedirect::ToOutput), Some(earlier)) = (&command.stderr, earlier) {
                    // `> a 2>&1 > b`: the errors stay with `a` (emptied already).
                    command.stderr = Some(ErrorRedirect::File(Redirect { append: true, ..earlier }));
                }
            }
            Token::ErrorOutput | Token::ErrorAppend => {
                let redirect = Redirect { path: redirect_target(tokens.next())?, append: token == Token::ErrorAppend };
                command.files.push(FileRedirect::Output(redirect.clone()));
                command.stderr = Some(ErrorRedirect::File(redirect));
            }
            Token::ErrorToOutput => {
                command.stderr = match (&command.stdout, command.output_to_error) {
                    (Some(_), _) => Some(ErrorRedirect::ToOutput),
                    (None, true) => None, // (`>&2 2>&1`: the errors where they were)
                    (None, false) => Some(ErrorRedirect::ToUnredirectedOutput),
                }
            }
            // The output where the errors go now, as sh duplicates descriptor 2 onto 1.
            Token::OutputToError => match &command.stderr {
                None => {
                    command.stdout = None;
                    command.output_to_error = true;
                }
                // (The file `2>` made: appended to, as `2>&1`'s after `> a 2>&1 > b`.)
                Some(ErrorRedirect::File(error)) => {
                    command.stdout = Some(Redirect { append: true, ..error.clone() });
                    command.output_to_error = false;
                }
                // (`> f 2>&1 >&2`: both to `f` already.)
                Some(ErrorRedirect::ToOutput) => {}
                // (`2>&1 >&2`: both where the output would go without a redirection.)
                Some(ErrorRedirect::ToUnredirectedOutput) => {
                    command.stdout = None;
                    command.output_to_error = false;
                }
            },
            Token::Pipe => pipeline.push(core::mem::take(&mut command).finish()?),
            Token::Separator | Token::Background | Token::And | Token::Or => {
                pipeline.push(core::mem::take(&mut command).finish()?);
                let background = token == Token::Background;
                if background && condition != Condition::Always {
                    return Err(ParseError::BackgroundList);
                }
                jobs.push(Job { pipeline: core::mem::take(&mut pipeline), background, condition });
                condition = match token {
                    Token::And => Condition::IfSucceeded,
                    Token::Or => Condition::IfFailed,
                    _ => Condition::Always,
                };
            }
        }
    }
    // The line may end after a job's `;` or `&`, but not after a `|`, `&&` or `||`.
    if !command.is_blank() || !pipeline.is_empty() || condition != Condition::Always {
        pipeline.push(command.finish()?);
        jobs.push(Job { pipeline, background: false, condition });
    }
    Ok(jobs)
}

/// The file name a redirection operator must be followed by.
fn redirect_target(token: Option<Token>) -> Result<String, ParseError> {
    match token {
        Some(Token::Word(path)) if !path.is_empty() => Ok(path),
        _ => Err(ParseError::MissingRedirectTarget),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec;

    /// A command with only words.
    fn cmd(words: &[&str]) -> Command {
        let argv = words.iter().map(|w| w.to_string()).collect();
        Command { argv, stdin: None, stdout: None, output_to_error: false, stderr: None, files: Vec::new() }
    }

    #[test]
    fn a_job_s_command_line_shows_its_redirections() {
        let line = |text: &str| parse(text).unwrap().iter().map(Job::command_line).collect::<Vec<_>>();
        assert_eq!(line("echo x > f &"), ["echo x > f"]);
        assert_eq!(line("cat < a | wc >> b 2> e"), ["cat < a | wc >> b 2> e"]);
        assert_eq!(line("cat f > a > b 2>> e"), ["cat f > b 2>> e"], "the redirections that took effect");
        assert_eq!(line("cat f > out 2>&1 ; cat g 2>&1 > out"), ["cat f > out 2>&1", "cat g 2>&1 > out"]);
        assert_eq!(line("sleep 30 | cat &"), ["sleep 30 | cat"]);
    }

    /// A foreground job.
    fn fg(pipeline: Vec<Command>) -> Job {
        Job { pipeline, background: false, condition: Condition::Always }
    }

    /// The argv of a line holding exactly one simple command.
    fn words(line: &str) -> Vec<String> {
        let jobs = parse(line).unwrap();
        assert_eq!(jobs.len(), 1, "{line:?}");
        assert_eq!(jobs[0].pipeline.len(), 1, "{line:?}");
        jobs[0].pipeline[0].argv.clone()
    }

    /// A made-up file system for the expansions: the names in a directory.
    fn listing(directory: &str) -> Option<Vec<String>> {
        let names: &[&str] = match directory {
            "/" => &["dev", "tmp"],
            "/dev" => &["console", "null"],
            "/tmp" => &["1a", "1b", "a.txt", "b.txt", "c.log", ".hidden"],
            "." => &["todo.txt", "notes.txt", "src"], // (not sorted: the expansion sorts)
            _ => return None,
        };
        Some(names.iter().map(|n| n.to_string()).collect())
    }

    /// The jobs of `line` as each would run after a job that ended with `status`, in the
    /// file system of [`listing`].
    fn run(line: &str, status: u32) -> Vec<Job> {
        parse_for_running(line).unwrap().iter().map(|job| job.expand(status, None, &mut listing).unwrap()).collect()
    }

    /// The argv, expanded, of a line holding exactly one simple command.
    fn argv(line: &str, status: u32) -> Vec<String> {
        let jobs = run(line, status);
        assert_eq!((jobs.len(), jobs[0].pipeline.len()), (1, 1), "{line:?}");
        jobs[0].pipeline[0].argv.clone()
    }

    #[test]
    fn blank_lines_and_comments_give_no_jobs() {
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("  \t "), Ok(vec![]));
        assert_eq!(parse("# just a comment | > &"), Ok(vec![]));
        assert_eq!(parse("   # indented comment"), Ok(vec![]));
    }

    #[test]
    fn words_split_on_spaces_and_tabs() {
        assert_eq!(parse("ls"), Ok(vec![fg(vec![cmd(&["ls"])])]));
        assert_eq!(words("  echo   a\tb  c "), ["echo", "a", "b", "c"]);
    }

    #[test]
    fn comments_start_only_at_a_word_start() {
        assert_eq!(words("echo a#b # the rest"), ["echo", "a#b"]);
        assert_eq!(words("echo '#' \\# \"#\""), ["echo", "#", "#", "#"]);
        assert_eq!(parse("ls;# comment"), Ok(vec![fg(vec![cmd(&["ls"])])]));
    }

    #[test]
    fn single_quotes_keep_everything() {
        assert_eq!(
            words(r#"echo 'a  b' 'x|y>z;&#' 'back\slash "q"'"#),
            ["echo", "a  b", "x|y>z;&#", r#"back\slash "q""#]
        );
        assert_eq!(words("echo '' x''y"), ["echo", "", "xy"], "empty quotes make a word");
    }

    #[test]
    fn the_last_status_replaces_dollar_question_mark_outside_single_quotes() {
        assert_eq!(
            argv(r#"echo $? x$?y "$?" '$?' \$? $ $x "$""#, 42),
            ["echo", "42", "x42y", "42", "$?", "$?", "$", "$x", "$"]
        );
        assert_eq!(words("echo $?"), ["echo", "$?"], "parse itself expands nothing");
        // Each job's `$?` is the status the job before it left, known when it runs.
        let jobs = parse_for_running("cat /x > \"out$?\" ; echo $? && echo '$?'").unwrap();
        assert_eq!(jobs[0].expand(1, None, &mut listing).unwrap().pipeline[0].stdout.as_ref().unwrap().path, "out1");
        assert_eq!(jobs[1].expand(7, None, &mut listing).unwrap().pipeline[0].argv, ["echo", "7"]);
        assert_eq!(jobs[2].expand(0, None, &mut listing).unwrap().pipeline[0].argv, ["echo", "$?"]);
        assert_eq!(jobs[1].condition(), Condition::Always);
        assert_eq!(jobs[2].condition(), Condition::IfSucceeded);
    }

    #[test]
    fn the_last_background_pid_replaces_dollar_bang_outside_single_quotes() {
        let job = |line: &str, last: Option<u32>| {
            let jobs = parse_for_running(line).unwrap();
            jobs[0].expand(0, last, &mut listing).unwrap().pipeline[0].argv.clone()
        };
        assert_eq!(
            job(r#"kill $! x$!y "$!" '$!' \$! $? "$!$?""#, Some(2049)),
            ["kill", "2049", "x2049y", "2049", "$!", "$!", "0", "20490"]
        );
        assert_eq!(job("kill $! x$!", None), ["kill", "x"], "none started yet: nothing, as sh's");
        assert_eq!(job(r#"kill "$!" '' """#, None), ["kill", "", "", ""], "quoted: an empty argument, as sh's");
        assert_eq!(job("echo \u{2} $!", Some(7)), ["echo", "\u{2}", "7"], "the mark's character typed is itself");
        assert_eq!(words("echo $!"), ["echo", "$!"], "parse itself expands nothing");
    }

    #[test]
    fn patterns_expand_to_the_sorted_paths_they_match_when_the_job_runs() {
        assert_eq!(argv("ls /tmp/*.txt *.txt", 0), ["ls", "/tmp/a.txt", "/tmp/b.txt", "notes.txt", "todo.txt"]);
        assert_eq!(
            argv("echo /tmp/?.* /tmp/[ab].txt /tmp/[!a-z]?", 0),
            ["echo", "/tmp/a.txt", "/tmp/b.txt", "/tmp/c.log", "/tmp/a.txt", "/tmp/b.txt", "/tmp/1a", "/tmp/1b"]
        );
        assert_eq!(argv("echo /tmp/.h* /dev/*", 0), ["echo", "/tmp/.hidden", "/dev/console", "/dev/null"]);
        assert_eq!(argv("echo /*/c*", 0), ["echo", "/dev/console", "/tmp/c.log"], "across components");
        assert_eq!(argv("/tmp/c* x", 0), ["/tmp/c.log", "x"], "the command's name too");
        assert_eq!(words("echo * /tmp/?"), ["echo", "*", "/tmp/?"], "parse itself expands nothing");
        // Each job's patterns are matched as it runs: what the jobs before it made is there.
        let jobs = parse_for_running("touch /tmp/new ; ls /tmp/n*").unwrap();
        assert_eq!(jobs[1].expand(0, None, &mut |_: &str| None).unwrap().pipeline[0].argv, ["ls", "/tmp/n*"]);
        let made = |_: &str| Some(vec!["new".to_string()]);
        assert_eq!(jobs[1].expand(0, None, &mut { made }).unwrap().pipeline[0].argv, ["ls", "/tmp/new"]);
    }

    #[test]
    fn quoted_pattern_characters_stand_for_themselves() {
        assert_eq!(
            argv(r#"echo '*' "*" \* '/tmp/*' "/tmp/"*.txt /tmp/'a'* "[ab]".txt"#, 0),
            ["echo", "*", "*", "*", "/tmp/*", "/tmp/a.txt", "/tmp/b.txt", "/tmp/a.txt", "[ab].txt"]
        );
        assert_eq!(argv(r"echo /tmp/\[ab].txt /tmp/[ab\].txt", 0), ["echo", "/tmp/[ab].txt", "/tmp/[ab].txt"]);
        assert_eq!(argv(r"echo /tmp/[\!a]* /tmp/\?? /tmp/*\?", 0), ["echo", "/tmp/a.txt", "/tmp/??", "/tmp/*?"]);
    }

    #[test]
    fn a_word_that_matches_nothing_stays_as_written() {
        assert_eq!(
            argv(r#"echo /tmp/*.none "/tmp/"*.none /nosuch/* [abc a[b /tmp/.h"#, 0),
            ["echo", "/tmp/*.none", "/tmp/*.none", "/nosuch/*", "[abc", "a[b", "/tmp/.h"]
        );
        assert_eq!(argv("echo /tmp/*/", 0), ["echo", "/tmp/*/"], "/tmp holds no directory");
    }

    #[test]
    fn redirections_are_not_patterns() {
        let command = run("cat < /tmp/a* > /tmp/*.txt 2> '*'", 0)[0].pipeline[0].clone();
        assert_eq!(command.stdin.as_deref(), Some("/tmp/a*"));
        assert_eq!(command.stdout.map(|r| r.path).as_deref(), Some("/tmp/*.txt"));
        assert!(matches!(command.stderr, Some(ErrorRedirect::File(r)) if r.path == "*"));
    }

    #[test]
    fn the_status_is_filled_in_before_the_patterns_are_matched() {
        assert_eq!(argv("echo /tmp/$?*", 1), ["echo", "/tmp/1a", "/tmp/1b"]);
        assert_eq!(argv("echo /tmp/$?*", 2), ["echo", "/tmp/2*"]);
        assert_eq!(argv(r#"echo "/tmp/$?"? '/tmp/$?'*"#, 1), ["echo", "/tmp/1a", "/tmp/1b", "/tmp/$?*"]);
    }

    #[test]
    fn no_mark_reaches_a_word_or_a_file_name() {
        // Every word and file name of a job that runs.
        let texts = |job: &Job| {
            let mut texts = Vec::new();
            for command in &job.pipeline {
                texts.extend(command.argv.iter().cloned());
                texts.extend(command.stdin.iter().cloned());
                texts.extend(command.stdout.iter().map(|r| r.path.clone()));
                if let Some(ErrorRedirect::File(r)) = &command.stderr {
                    texts.push(r.path.clone());
                }
                for file in &command.files {
                    texts.push(match file {
                        FileRedirect::Input(path) => path.clone(),
                        FileRedirect::Output(r) => r.path.clone(),
                    });
                }
            }
            texts
        };
        let lines = [
            r#"echo '*' "$?" \* $? "a$?b" x\?y '[a]' "$?"* /tmp/* > "$?" < '*' 2> \* | cat"#,
            r#"echo "" '' "\"" "\\" \\ '\' "$" $ "a b" ; ls "/tmp/"* && echo '$?' || x 2>> '$?'"#,
        ];
        for line in lines {
            for status in [0, 1, 127] {
                for job in run(line, status) {
                    for text in texts(&job) {
                        assert!(!text.contains([STATUS_MARK, BACKGROUND_MARK, QUOTE_MARK]), "{line:?}: {text:?}");
                    }
                }
            }
        }
        // A mark's character in a line (a script may hold any) stands for itself.
        let jobs = run("echo \u{1} a\u{1}* '\u{1}' \"\u{1}$?\" \0 \\\u{1} ; cat < \u{1}\0 > '\0'$?", 5);
        assert_eq!(jobs[0].pipeline[0].argv, ["echo", "\u{1}", "a\u{1}*", "\u{1}", "\u{1}5", "\0", "\u{1}"]);
        assert_eq!(jobs[1].pipeline[0].stdin.as_deref(), Some("\u{1}\0"));
        assert_eq!(jobs[1].pipeline[0].stdout.as_ref().map(|r| r.path.as_str()), Some("\05"));
    }

    #[test]
    fn double_quotes_keep_spaces_and_allow_two_escapes() {
        assert_eq!(
            words(r#"echo "a  b" "say \"hi\"" "a\\b" "a\nb""#),
            ["echo", "a  b", r#"say "hi""#, r"a\b", r"a\nb"]
        );
        assert_eq!(words(r#"echo "'single' inside""#), ["echo", "'single' inside"]);
        assert_eq!(words(r#"echo pre"mid dle"post"#), ["echo", "premid dlepost"], "quotes join with the word");
    }

    #[test]
    fn backslash_escapes_the_next_character() {
        assert_eq!(words(r"echo a\ b \| \> \; \& \\ \'"), ["echo", "a b", "|", ">", ";", "&", "\\", "'"]);
    }

    #[test]
    fn operators_need_no_spaces() {
        let echo_to = |path: &str, append| {
            let redirect = Redirect { path: path.to_string(), append };
            Command {
                stdout: Some(redirect.clone()),
                files: vec![FileRedirect::Output(redirect)],
                ..cmd(&["echo", "hi"])
            }
        };
        assert_eq!(parse("echo hi>out"), Ok(vec![fg(vec![echo_to("out", false)])]));
        assert_eq!(parse("echo hi>>log"), Ok(vec![fg(vec![echo_to("log", true)])]));
        assert_eq!(parse("ls|wc;echo hi&"), {
            Ok(vec![
                fg(vec![cmd(&["ls"]), cmd(&["wc"])]),
                Job { pipeline: vec![cmd(&["echo", "hi"])], background: true, condition: Condition::Always },
            ])
        });
        assert_eq!(words("echo 'a|b' \"c>d\""), ["echo", "a|b", "c>d"], "quoted operators are words");
    }

    #[test]
    fn pipelines_and_redirections() {
        let counts = Redirect { path: "counts".to_string(), append: true };
        let jobs = parse("cat < in.txt | grep -v x | wc -l >> counts").unwrap();
        assert_eq!(
            jobs,
            [fg(vec![
                Command {
                    stdin: Some("in.txt".to_string()),
                    files: vec![FileRedirect::Input("in.txt".to_string())],
                    ..cmd(&["cat"])
                },
                cmd(&["grep", "-v", "x"]),
                Command {
                    stdout: Some(counts.clone()),
                    files: vec![FileRedirect::Output(counts)],
                    ..cmd(&["wc", "-l"])
                },
            ])]
        );
        let output = |path: &str, append| FileRedirect::Output(Redirect { path: path.to_string(), append });
        let jobs = parse("> out < in sort -r").unwrap();
        assert_eq!(
            jobs,
            [fg(vec![Command {
                argv: vec!["sort".to_string(), "-r".to_string()],
                stdin: Some("in".to_string()),
                stdout: Some(Redirect { path: "out".to_string(), append: false }),
                output_to_error: false,
                stderr: None,
                files: vec![output("out", false), FileRedirect::Input("in".to_string())],
            }])],
            "redirections may come before the words"
        );
        let jobs = parse("echo a > first > 'second file'").unwrap();
        let last = Some(Redirect { path: "second file".to_string(), append: false });
        assert_eq!(jobs[0].pipeline[0].stdout, last, "the last redirection wins");
        let files = [output("first", false), output("second file", false)];
        assert_eq!(jobs[0].pipeline[0].files, files, "the earlier one is still opened, first");
        let jobs = parse("cat < a < b 2> e >> f 2>&1 2>> g > h").unwrap();
        let input = |path: &str| FileRedirect::Input(path.to_string());
        let files =
            [input("a"), input("b"), output("e", false), output("f", true), output("g", true), output("h", false)];
        assert_eq!(jobs[0].pipeline[0].files, files, "in the order they came, 2>&1's replaced file too");
        let jobs = run("echo $? > $?.a > b", 7);
        assert_eq!(jobs[0].pipeline[0].files, [output("7.a", false), output("b", false)]);
    }

    #[test]
    fn jobs_split_on_semicolons_and_ampersands() {
        let background =
            |words: &[&str]| Job { pipeline: vec![cmd(words)], background: true, condition: Condition::Always };
        assert_eq!(parse("a; b;"), Ok(vec![fg(vec![cmd(&["a"])]), fg(vec![cmd(&["b"])])]));
        assert_eq!(parse("a & b"), Ok(vec![background(&["a"]), fg(vec![cmd(&["b"])])]));
        assert_eq!(parse("sleep 5 &"), Ok(vec![background(&["sleep", "5"])]));
        assert_eq!(
            parse("a | b & c"),
            Ok(vec![
                Job { pipeline: vec![cmd(&["a"]), cmd(&["b"])], background: true, condition: Condition::Always },
                fg(vec![cmd(&["c"])])
            ])
        );
    }

    #[test]
    fn and_or_lists_run_by_the_last_status() {
        let when = |condition, words: &[&str]| Job { condition, ..fg(vec![cmd(words)]) };
        assert_eq!(
            parse("a && b || c; d&&e"),
            Ok(vec![
                fg(vec![cmd(&["a"])]),
                when(Condition::IfSucceeded, &["b"]),
                when(Condition::IfFailed, &["c"]),
                fg(vec![cmd(&["d"])]),
                when(Condition::IfSucceeded, &["e"]),
            ])
        );
        assert_eq!(words(r"echo '&&' \|\| x\&\&y"), ["echo", "&&", "||", "x&&y"], "quoted, they are words");
        assert!(Condition::IfSucceeded.holds(0) && !Condition::IfSucceeded.holds(1));
        assert!(Condition::IfFailed.holds(2) && !Condition::IfFailed.holds(0) && Condition::Always.holds(9));
    }

    #[test]
    fn standard_error_redirections() {
        let to = |path: &str, append| Some(ErrorRedirect::File(Redirect { path: path.to_string(), append }));
        let command = |line| parse(line).unwrap()[0].pipeline[0].clone();
        assert_eq!(command("cat x 2> err").stderr, to("err", false));
        assert_eq!(command("cat x 2>>err").stderr, to("err", true));
        let both = command("cat x > out 2>&1");
        assert_eq!((both.stdout.is_some(), both.stderr), (true, Some(ErrorRedirect::ToOutput)));
        let before = command("cat x 2>&1 > out");
        assert_eq!(before.stderr, Some(ErrorRedirect::ToUnredirectedOutput), "POSIX: the errors where output was");
        assert_eq!(command("cat x > a 2>&1 > b").stderr, to("a", true));
        assert_eq!(command("echo 2 x2>y").argv, ["echo", "2", "x2"], "a number in a word is the word's");
        assert_eq!(command("echo '2'>y").stderr, None, "a quoted 2 is a word");
        assert_eq!(command("ls 1>out 2>err 0<in").argv, ["ls"]);
        let numbered = command("ls 1>>out 0<in");
        assert_eq!((numbered.stdout.map(|r| r.append), numbered.stdin.as_deref()), (Some(true), Some("in")));
        for line in ["ls 3> f", "cat 1<f", "ls >&3", "ls >&", "ls 2>&1x", "ls 2>&3", "ls 12>x", "ls 0>x", "ls 2>&2"] {
            assert_eq!(parse(line), Err(ParseError::UnsupportedRedirection), "{line:?}");
        }
        assert_eq!(parse("cat 2>"), Err(ParseError::MissingRedirectTarget));
        assert_eq!(parse("2>&1"), Err(ParseError::EmptyCommand));
        assert_eq!(parse("a && b &"), Err(ParseError::BackgroundList));
        assert_eq!(parse("a || b & c"), Err(ParseError::BackgroundList));
        assert!(parse("a & b && c").is_ok());
    }

    #[test]
    fn output_to_where_the_errors_go() {
        let command = |line| parse(line).unwrap()[0].pipeline[0].clone();
        let file = |path: &str, append| Some(Redirect { path: path.to_string(), append });
        for line in ["echo a >&2", "echo a 1>&2", "echo a>&2", "echo a > f >&2"] {
            let echo = command(line);
            assert_eq!(
                (echo.argv, echo.output_to_error, echo.stdout, echo.stderr),
                (vec!["echo".to_string(), "a".to_string()], true, None, None),
                "{line:?}"
            );
        }
        assert_eq!(command("echo a > f >&2").files.len(), 1, "`f` is still made");
        let later = command("echo a >&2 > f");
        assert_eq!((later.output_to_error, later.stdout), (false, file("f", false)), "the last one wins");
        let to_file = command("echo a 2> e >&2");
        assert_eq!((to_file.output_to_error, to_file.stdout), (false, file("e", true)), "to the file `2>` made");
        assert_eq!(to_file.files, [FileRedirect::Output(Redirect { path: "e".to_string(), append: false })]);
        let before = command("echo a >&2 2> e");
        assert_eq!((before.output_to_error, before.stdout.is_none()), (true, true), "where the errors were");
        assert_eq!(before.stderr, Some(ErrorRedirect::File(Redirect { path: "e".to_string(), append: false })));
        let swapped = command("echo a >&2 2>&1");
        assert_eq!((swapped.output_to_error, swapped.stderr), (true, None), "both to the errors' place");
        let both = command("echo a > f 2>&1 >&2");
        assert_eq!((both.stdout, both.stderr), (file("f", false), Some(ErrorRedirect::ToOutput)));
        let unredirected = command("echo a 2>&1 > f >&2");
        assert_eq!((unredirected.output_to_error, unredirected.stdout), (false, None), "both where output was");
        assert_eq!(parse(">&2"), Err(ParseError::EmptyCommand));
        let jobs = parse("echo a >&2 2> e | cat >&2 &").unwrap();
        assert_eq!(jobs[0].command_line(), "echo a >&2 2> e | cat >&2");
    }

    #[test]
    fn unterminated_quotes_and_escapes() {
        assert_eq!(parse("echo 'abc"), Err(ParseError::UnterminatedQuote));
        assert_eq!(parse("echo \"abc"), Err(ParseError::UnterminatedQuote));
        assert_eq!(parse(r#"echo "abc\""#), Err(ParseError::UnterminatedQuote), "the closing quote is escaped");
        assert_eq!(parse("echo abc\\"), Err(ParseError::DanglingEscape));
        assert_eq!(parse("# 'not a quote"), Ok(vec![]), "comments are not parsed");
    }

    #[test]
    fn empty_commands_are_errors() {
        for line in
            ["| wc", "ls |", "ls | | wc", "ls |;", "; ls", "ls ;; wc", "& ls", "ls & &", "ls &&", "|| wc", "a && || b"]
        {
            assert_eq!(parse(line), Err(ParseError::EmptyCommand), "{line:?}");
        }
        for line in ["> out", "ls | < in", "< in"] {
            assert_eq!(parse(line), Err(ParseError::EmptyCommand), "a redirection without a command: {line:?}");
        }
    }

    #[test]
    fn redirections_need_a_target() {
        for line in ["ls >", "ls > ", "ls >> # comment", "cat <", "ls > | wc", "ls > ; wc", "ls > > x", "ls > ''"] {
            assert_eq!(parse(line), Err(ParseError::MissingRedirectTarget), "{line:?}");
        }
    }

    #[test]
    fn tokens_of_a_line() {
        use Token::*;
        let word = |w: &str| Word(w.to_string());
        assert_eq!(
            tokenize("a<b>c>>d|e&f;", false).unwrap(),
            [
                word("a"),
                Input,
                word("b"),
                Output,
                word("c"),
                Append,
                word("d"),
                Pipe,
                word("e"),
                Background,
                word("f"),
                Separator
            ]
        );
        assert_eq!(tokenize("'' \"\"", false).unwrap(), [word(""), word("")]);
        // Marked: what is quoted follows a quote mark, `$?` is a status mark, and a quote
        // says the word has a quoted part.
        assert_eq!(tokenize(r#"'*'\*"a$"$?*"#, true).unwrap(), [word("\u{3}\u{1}*\u{1}*\u{3}\u{1}a\u{1}$\0*")]);
        assert_eq!(
            tokenize("a\u{1}\0\u{3}", true).unwrap(),
            [word("a\u{1}\u{1}\u{1}\0\u{1}\u{3}")],
            "typed marks are quoted"
        );
        assert_eq!(tokenize(">>>", false).unwrap(), [Append, Output]);
        assert_eq!(tokenize("a >| b 2>| c", false).unwrap(), [word("a"), Output, word("b"), ErrorOutput, word("c")]);
    }

    #[test]
    fn errors_display_a_message() {
        assert_eq!(ParseError::UnterminatedQuote.to_string(), "unterminated quote");
        assert_eq!(ParseError::MissingRedirectTarget.to_string(), "a redirection needs a file name");
    }
}
