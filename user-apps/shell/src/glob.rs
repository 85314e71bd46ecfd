//! Pathname expansion ("globbing"), as POSIX sh does it: [`expand`] turns a word holding
//! a pattern into the sorted list of the existing paths it matches.
//!
//! A word comes as [`WordChar`]s, each saying whether quoting made it literal (the parser
//! knows; see `parse.rs`). Unquoted, `*` matches any string, `?` any one character and a
//! bracket expression one character of a set: `[abc]`, a range `[a-z]`, a named class
//! `[[:digit:]]` (`alnum`, `alpha`, `blank`, `cntrl`, `digit`, `graph`, `lower`, `print`,
//! `punct`, `space`, `upper`, `xdigit`; letters and spaces as Rust's `char` knows them,
//! the rest ASCII's), and everything but the set with `!` or `^` first (`[!a]`). In a
//! bracket, a `]` right after the `[` (or the `!`) is a member, and so is a `-` first or
//! last; a `[` that no `]` closes is a literal `[`. Quoted, each of these characters
//! stands for itself (`'*'`, `\?`, `"[a]"`, `[\!a]`: `!` or `a`). Equivalence classes
//! (`[=a=]`) and collating symbols (`[.a.]`) are not known.
//!
//! The word is matched a component at a time, across `/`, which no pattern matches (a
//! bracket that would hold one is literal): the directories the components before a
//! pattern name are listed, through the caller's `list`, and their names matched. A name
//! that begins with `.` matches only a component that begins with a `.` of its own
//! (`.*`, not `*`); `.` and `..` are matched only when written out. Components written
//! out after a pattern must exist (`/dev/*/x`: only the directories of `/dev` that hold an
//! `x`), and a `/` at the end keeps only directories. Each path is written as the word
//! was (a relative pattern gives relative paths), and the list is sorted in byte order,
//! as in sh's C locale. A word that matches nothing is for the caller to keep as it was
//! written: [`expand`] says `None`.
//!
//! The matching is plain Rust; the file system is reached only through `list`, so the
//! host tests give a made-up one.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// One character of a word, and whether it was quoted or escaped, which makes it stand
/// for itself even where it would be a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordChar {
    /// The character.
    pub c: char,
    /// It was inside quotes or after a backslash.
    pub quoted: bool,
}

impl WordChar {
    /// Whether this is the unquoted `c`: a pattern character where `c` is one.
    fn is(self, c: char) -> bool {
        !self.quoted && self.c == c
    }
}

/// What a pattern's piece matches in a name.
#[derive(Debug)]
enum Element {
    /// This character.
    Literal(char),
    /// `?`: any one character.
    AnyChar,
    /// `*`: any string, the empty one too.
    AnyString,
    /// `[...]`: one character of a set.
    Bracket(Bracket),
}

/// A bracket expression.
#[derive(Debug)]
struct Bracket {
    /// `[!...]` or `[^...]`: it matches the characters that are not members.
    negated: bool,
    members: Vec<Member>,
}

/// One member of a bracket expression.
#[derive(Debug)]
enum Member {
    /// This character.
    Char(char),
    /// `a-z`: the characters from the first to the second, both included.
    Range(char, char),
    /// `[:name:]`; `None` for an unknown name, which matches nothing.
    Class(Option<Class>),
}

/// A named class of characters (`[:digit:]`): whether a character is one of them.
type Class = fn(char) -> bool;

impl Element {
    /// Whether this element, not a `*`, matches `c`.
    fn matches_one(&self, c: char) -> bool {
        match self {
            Element::Literal(literal) => *literal == c,
            Element::AnyChar => true,
            Element::AnyString => false,
            Element::Bracket(bracket) => bracket.negated != bracket.members.iter().any(|m| m.matches(c)),
        }
    }
}

impl Member {
    fn matches(&self, c: char) -> bool {
        match *self {
            Member::Char(member) => member == c,
            Member::Range(first, last) => (first..=last).contains(&c),
            Member::Class(class) => class.is_some_and(|is| is(c)),
        }
    }
}

/// A component of a word, between two `/`s (or an end).
#[derive(Debug)]
enum Component {
    /// It holds no pattern: a name as it is written (possibly empty: `//`, a `/` at
    /// either end).
    Name(String),
    /// It holds one.
    Pattern(Vec<Element>),
}

/// Most paths one word expands to, and most directories its expansion lists: a short
/// word (`*/../*/../*/..`) can otherwise ask for millions of each, more than the shell's
/// memory holds — every listing a message to a server. Beyond, [`expand`] fails
/// ([`TooMany`]) and the command does not run.
pub const MAX_PATHS: usize = 4096;
/// See [`MAX_PATHS`].
pub const MAX_LISTINGS: usize = 1024;

/// A word whose expansion went past [`MAX_PATHS`] or [`MAX_LISTINGS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany;

/// The paths `word` matches, sorted, written as the word is (relative if it is
/// relative); `None` if it holds no pattern or matches nothing — sh then keeps it as
/// written. `list` gives the names in a directory, named as the word names it (`.` for the
/// working directory, `/` for the root), and `None` when it cannot (not a directory, or
/// nothing there); only the directories that a pattern, or a name after one, needs are
/// listed.
pub fn expand(
    word: &[WordChar],
    list: &mut impl FnMut(&str) -> Option<Vec<String>>,
) -> Result<Option<Vec<String>>, TooMany> {
    let components: Vec<Component> = word.split(|c| c.c == '/').map(compile).collect();
    if !components.iter().any(|c| matches!(c, Component::Pattern(_))) {
        return Ok(None);
    }
    let mut listings = 0;
    let mut list = |directory: &str| {
        listings += 1;
        match listings > MAX_LISTINGS {
            true => None,
            false => list(directory),
        }
    };
    // The paths matched so far, as written; the empty one before the first component.
    let mut paths = Vec::from([String::new()]);
    let mut after_pattern = false;
    for (i, component) in components.iter().enumerate() {
        let mut next = Vec::new();
        for path in &paths {
            let directory = match (i, path.as_str()) {
                (0, _) => ".",
                (_, "") => "/", // (after the empty name before a leading `/`)
                (_, path) => path,
            };
            let join = |name: &str| if i == 0 { String::from(name) } else { format!("{path}/{name}") };
            match component {
                Component::Pattern(elements) => {
                    let Some(names) = list(directory) else { continue };
                    next.extend(names.iter().filter(|name| name_matches(elements, name)).map(|name| join(name)));
                }
                // Before any pattern the listing of the next pattern's directory tells
                // whether the names exist; after one, each must be looked for.
                Component::Name(name) if after_pattern && !exists(&mut list, directory, name) => {}
                Component::Name(name) => next.push(join(name)),
            }
            if next.len() > MAX_PATHS {
                return Err(TooMany);
            }
        }
        after_pattern |= matches!(component, Component::Pattern(_));
        paths = next;
    }
    if listings > MAX_LISTINGS {
        return Err(TooMany);
    }
    paths.sort();
    Ok((!paths.is_empty()).then_some(paths))
}

/// Whether `name` is there in `directory` (that `directory` is one, for the empty name
/// of a `/` at the end, `.` and `..`).
fn exists(list: &mut impl FnMut(&str) -> Option<Vec<String>>, directory: &str, name: &str) -> bool {
    match list(directory) {
        None => false,
        Some(_) if matches!(name, "" | "." | "..") => true,
        Some(names) => names.iter().any(|n| n == name),
    }
}

/// Whether the name `name` matches a pattern component: as [`matches`] does, but a name
/// beginning with `.` only if the pattern's does too, and never `.` or `..`.
fn name_matches(pattern: &[Element], name: &str) -> bool {
    if name == "." || name == ".." {
        return false;
    }
    if name.starts_with('.') && !matches!(pattern.first(), Some(Element::Literal('.'))) {
        return false;
    }
    matches(pattern, name)
}

/// Whether `text` matches all of `pattern`.
fn matches(pattern: &[Element], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // After a `*`: the pattern's element after it and where in the text its match ends,
    // to take one character more when what follows fails.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Element::AnyString) => {
                p += 1;
                backtrack = Some((p, t));
                continue;
            }
            Some(element) if element.matches_one(text[t]) => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        // Every element but `*` matches exactly one character, so a longer match of the
        // last `*` is all there is to try (an earlier `*` could not do better).
        let Some((after_star, star_end)) = backtrack else { return false };
        p = after_star;
        t = star_end + 1;
        backtrack = Some((after_star, t));
    }
    pattern[p..].iter().all(|e| matches!(e, Element::AnyString))
}

/// What a component (no `/` in it) is: a name, or a pattern if it holds an unquoted `*`,
/// `?` or bracket expression.
fn compile(component: &[WordChar]) -> Component {
    let mut elements = Vec::new();
    let mut is_pattern = false;
    let mut i = 0;
    while let Some(&c) = component.get(i) {
        i += 1;
        let element = if c.is('*') {
            Element::AnyString
        } else if c.is('?') {
            Element::AnyChar
        } else if let Some((bracket, end)) = c.is('[').then(|| bracket(component, i)).flatten() {
            i = end;
            Element::Bracket(bracket)
        } else {
            elements.push(Element::Literal(c.c));
            continue;
        };
        is_pattern = true;
        if !matches!((&element, elements.last()), (Element::AnyString, Some(Element::AnyString))) {
            elements.push(element);
        }
    }
    match is_pattern {
        true => Component::Pattern(elements),
        false => Component::Name(component.iter().map(|c| c.c).collect()),
    }
}

/// The bracket expression whose members start at `start` in `chars` (after its `[`),
/// and where it ends (after its `]`); `None` if no `]` closes it.
fn bracket(chars: &[WordChar], start: usize) -> Option<(Bracket, usize)> {
    let mut i = start;
    let negated = chars.get(i).is_some_and(|c| c.is('!') || c.is('^'));
    if negated {
        i += 1;
    }
    let first = i;
    let mut members = Vec::new();
    loop {
        let c = *chars.get(i)?;
        if c.is(']') && i > first {
            return Some((Bracket { negated, members }, i + 1));
        }
        if c.is('[') && chars.get(i + 1).is_some_and(|c| c.is(':')) {
            if let Some((class, end)) = named_class(chars, i + 2) {
                members.push(Member::Class(class));
                i = end;
                continue;
            }
        }
        i += 1;
        // `a-z`, unless the `-` is the last member (`[a-]`).
        match (chars.get(i), chars.get(i + 1)) {
            (Some(dash), Some(&last)) if dash.is('-') && !last.is(']') => {
                members.push(Member::Range(c.c, last.c));
                i += 2;
            }
            _ => members.push(Member::Char(c.c)),
        }
    }
}

/// The class `[:name:]` whose name starts at `start` in `chars` (after its `[:`), and
/// where it ends (after its `:]`); `None` if no `:]` ends it. The class is `None` if no
/// class has that name.
fn named_class(chars: &[WordChar], start: usize) -> Option<(Option<Class>, usize)> {
    let length = chars[start..].windows(2).position(|pair| pair[0].is(':') && pair[1].is(']'))?;
    let name: String = chars[start..start + length].iter().map(|c| c.c).collect();
    let class: Class = match name.as_str() {
        "alnum" => |c| c.is_alphanumeric(),
        "alpha" => |c| c.is_alphabetic(),
        "blank" => |c| c == ' ' || c == '\t',
        "cntrl" => |c| c.is_control(),
        "digit" => |c| c.is_ascii_digit(),
        "graph" => |c| !c.is_control() && !c.is_whitespace(),
        "lower" => |c| c.is_lowercase(),
        "print" => |c| !c.is_control() && (c == ' ' || !c.is_whitespace()),
        "punct" => |c| c.is_ascii_punctuation(),
        "space" => |c| c.is_whitespace(),
        "upper" => |c| c.is_uppercase(),
        "xdigit" => |c| c.is_ascii_hexdigit(),
        _ => return Some((None, start + length + 2)),
    };
    Some((Some(class), start + length + 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::string::ToString;

    /// A word as a shell line would give it: a character after `\` is quoted.
    fn word(text: &str) -> Vec<WordChar> {
        let mut chars = text.chars();
        let mut word = Vec::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => word.push(WordChar { c: chars.next().expect("escaped"), quoted: true }),
                c => word.push(WordChar { c, quoted: false }),
            }
        }
        word
    }

    /// Whether the one-component pattern `pattern` (escapes as in [`word`]) matches `name`.
    fn matches_name(pattern: &str, name: &str) -> bool {
        match compile(&word(pattern)) {
            Component::Pattern(elements) => name_matches(&elements, name),
            Component::Name(written) => written == name,
        }
    }

    /// A made-up file system: the names in each directory, and what was listed.
    struct Files {
        directories: BTreeMap<&'static str, Vec<&'static str>>,
        listed: Vec<String>,
    }

    impl Files {
        fn new(directories: &[(&'static str, &[&'static str])]) -> Files {
            let directories = directories.iter().map(|(path, names)| (*path, names.to_vec())).collect();
            Files { directories, listed: Vec::new() }
        }

        /// `word` (escapes as in [`word`]) expanded in this file system.
        fn expand(&mut self, text: &str) -> Option<Vec<String>> {
            let mut list = |directory: &str| {
                self.listed.push(directory.to_string());
                // (As userlib's `read_dir` resolves them: `/tmp/`, `/tmp//dir`.)
                let path = directory.replace("//", "/");
                let path = match path.trim_end_matches('/') {
                    "" => "/",
                    path => path,
                };
                let names = self.directories.get(path)?;
                Some(names.iter().map(|n| n.to_string()).collect())
            };
            expand(&word(text), &mut list).expect("a small expansion")
        }
    }

    #[test]
    fn an_expansion_past_its_bounds_fails() {
        // (A review found a 36-character word giving 65,536 paths after 43,689 listings,
        // each a message to a server: more than the shell's memory.)
        let mut listings = 0;
        let mut four = |directory: &str| {
            listings += 1;
            let _ = directory;
            Some(["a", "b", "c", "d"].iter().map(|n| n.to_string()).collect())
        };
        let deep = word("*/../*/../*/../*/../*/../*/../*/../*");
        assert_eq!(expand(&deep, &mut four), Err(TooMany));
        assert!(listings <= MAX_LISTINGS + 1, "{listings} listings");
        let mut many = |_: &str| Some((0..MAX_PATHS + 1).map(|n| std::format!("f{n}")).collect());
        assert_eq!(expand(&word("*"), &mut many), Err(TooMany));
        let mut enough = |_: &str| Some((0..MAX_PATHS).map(|n| std::format!("f{n}")).collect());
        assert_eq!(expand(&word("*"), &mut enough).map(|p| p.map(|p| p.len())), Ok(Some(MAX_PATHS)));
    }

    /// A small tree: `/`, `/tmp` with files, `/dev` with directories, and the working
    /// directory `.` with `sub`.
    fn files() -> Files {
        Files::new(&[
            ("/", &["dev", "tmp"]),
            ("/tmp", &["a.txt", "b.txt", "ab", ".hidden", "c.log", "dir", "x*y"]),
            ("/tmp/dir", &["inner"]),
            ("/dev", &["console", "mqueue", "pipe", "shmem"]),
            ("/dev/mqueue", &["x", "jobs"]),
            ("/dev/shmem", &["x"]),
            ("/dev/pipe", &[]),
            (".", &["b.txt", "a.txt", "sub", ".profile", "Z"]),
            ("sub", &["a.txt", "b.md"]),
        ])
    }

    fn strings(paths: &[&str]) -> Option<Vec<String>> {
        Some(paths.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn star_matches_any_string() {
        for (pattern, name) in [("*", "abc"), ("*", "x"), ("a*", "a"), ("a*c", "abbbc"), ("*c", "c"), ("a**b", "ab")] {
            assert!(matches_name(pattern, name), "{pattern:?} {name:?}");
        }
        for (pattern, name) in [("a*", "ba"), ("a*c", "abcd"), ("*.txt", "a.txt.gz"), ("*x*", "abc")] {
            assert!(!matches_name(pattern, name), "{pattern:?} {name:?}");
        }
        assert!(matches_name("*a*b*c", "xxaxxbxbxc"), "backtracking past earlier tries");
        assert!(!matches_name("*a*b*c", "xxaxxbxbx"));
    }

    #[test]
    fn question_mark_matches_one_character() {
        assert!(matches_name("?", "x") && matches_name("a?c", "abc") && matches_name("??", "é!"));
        assert!(!matches_name("?", "") && !matches_name("?", "ab") && !matches_name("a?c", "ac"));
    }

    #[test]
    fn bracket_expressions_match_one_character_of_a_set() {
        assert!(matches_name("[abc]", "b") && !matches_name("[abc]", "d") && !matches_name("[abc]", "ab"));
        assert!(matches_name("x[a-c]y", "xby") && !matches_name("x[a-c]y", "xdy"));
        assert!(matches_name("[a-cx-z0-9]", "y") && matches_name("[a-cx-z0-9]", "5"));
        assert!(matches_name("[!a]", "b") && !matches_name("[!a]", "a"));
        assert!(matches_name("[^a-c]", "d") && !matches_name("[^a-c]", "b"));
        assert!(matches_name("[]a]", "]") && matches_name("[!]]", "x") && !matches_name("[!]]", "]"));
        assert!(matches_name("[a-]", "-") && matches_name("[-a]", "-") && !matches_name("[a-]", "b"));
        assert!(!matches_name("[z-a]", "m"), "a range backwards holds nothing");
        assert!(matches_name("[[:digit:]x]", "7") && matches_name("[[:digit:]x]", "x"));
        assert!(!matches_name("[[:digit:]]", "a") && matches_name("[![:upper:]]", "a"));
        assert!(matches_name("[[:alpha:]][[:space:]][[:punct:]]", "é ."));
        assert!(!matches_name("[[:nosuch:]]", "n"), "an unknown class holds nothing");
        assert!(matches_name("[[:a]", "[") && matches_name("[[:a]", ":"), "no `:]`: `[` and `:` are members");
    }

    #[test]
    fn an_unclosed_bracket_is_literal() {
        assert!(matches!(compile(&word("[abc")), Component::Name(name) if name == "[abc"));
        assert!(matches!(compile(&word("[")), Component::Name(name) if name == "["));
        assert!(matches!(compile(&word("[]")), Component::Name(name) if name == "[]"), "`]` first is a member");
        assert!(matches_name("[ab*", "[abxyz") && !matches_name("[ab*", "a"));
        assert_eq!(files().expand("/tmp/[a/b]*"), None, "a `/` is not bracketed: `[` and `]` stand for themselves");
    }

    #[test]
    fn quoted_pattern_characters_stand_for_themselves() {
        assert!(matches!(compile(&word(r"\*")), Component::Name(name) if name == "*"));
        assert!(matches!(compile(&word(r"a\?\[b]")), Component::Name(name) if name == "a?[b]"));
        assert!(matches_name(r"x\**", "x*y") && !matches_name(r"x\**", "xy"));
        assert!(matches_name(r"[\!a]", "!") && matches_name(r"[\!a]", "a") && !matches_name(r"[\!a]", "b"));
        assert!(matches_name(r"[a\-c]", "-") && !matches_name(r"[a\-c]", "b"), "a quoted `-` is no range");
        assert!(matches_name(r"[a\]]", "]") && matches_name(r"[a\]]", "a"), "a quoted `]` closes nothing");
        let mut files = files();
        assert_eq!(files.expand(r"/tmp/\*"), None, "no pattern: nothing to expand");
        assert_eq!(files.expand(r"/tmp/x\**"), strings(&["/tmp/x*y"]));
        assert!(files.listed == ["/tmp"], "only the pattern's directory is listed: {:?}", files.listed);
    }

    #[test]
    fn a_leading_dot_is_matched_only_by_a_dot() {
        assert!(!matches_name("*", ".hidden") && !matches_name("?hidden", ".hidden"));
        assert!(!matches_name("[.]hidden", ".hidden"), "a bracket is not a dot of its own");
        assert!(matches_name(".*", ".hidden") && matches_name(r"\.h*", ".hidden"));
        assert!(matches_name("a*", "a.b"), "inside a name, a dot is any character");
        assert!(!matches_name(".*", ".") && !matches_name(".*", ".."));
        assert_eq!(files().expand("/tmp/.*"), strings(&["/tmp/.hidden"]));
        assert_eq!(files().expand("/tmp/*").unwrap().len(), 6, "all but .hidden");
    }

    #[test]
    fn words_expand_to_the_sorted_paths_they_match() {
        let mut files = files();
        assert_eq!(files.expand("/tmp/*.txt"), strings(&["/tmp/a.txt", "/tmp/b.txt"]));
        assert_eq!(files.expand("/tmp/?b"), strings(&["/tmp/ab"]));
        assert_eq!(files.expand("*.txt"), strings(&["a.txt", "b.txt"]), "relative, and sorted");
        assert_eq!(files.expand("*"), strings(&["Z", "a.txt", "b.txt", "sub"]), "in byte order");
        assert_eq!(files.expand("[a-c]*.txt"), strings(&["a.txt", "b.txt"]));
        assert_eq!(files.expand("/*"), strings(&["/dev", "/tmp"]));
    }

    #[test]
    fn patterns_match_a_component_at_a_time() {
        let mut files = files();
        assert_eq!(files.expand("/dev/*/x"), strings(&["/dev/mqueue/x", "/dev/shmem/x"]));
        assert_eq!(files.expand("/*/d*/inner"), strings(&["/tmp/dir/inner"]));
        assert_eq!(files.expand("*/*.txt"), strings(&["sub/a.txt"]));
        assert_eq!(files.expand("sub/?.*"), strings(&["sub/a.txt", "sub/b.md"]));
        assert_eq!(files.expand("/tmp/*/"), strings(&["/tmp/dir/"]), "a `/` at the end: directories only");
        assert_eq!(files.expand("/tmp/d*/."), strings(&["/tmp/dir/."]));
        assert_eq!(files.expand("/dev/m*/x/y"), None, "x is no directory");
        assert_eq!(files.expand("/*x/a"), None);
        assert_eq!(files.expand("/t?p//a*"), strings(&["/tmp//a.txt", "/tmp//ab"]), "as written");
        assert!(!files.expand("/tm*").unwrap().iter().any(|p| p.contains("//")));
        assert_eq!(files.expand("/d*e"), None, "`*` stops at a `/`: /dev/console is no match");
    }

    #[test]
    fn a_word_that_matches_nothing_gives_none() {
        let mut files = files();
        assert_eq!(files.expand("/tmp/*.none"), None);
        assert_eq!(files.expand("/nosuch/*"), None, "a directory that is not there");
        assert_eq!(files.expand("/tmp/a.txt/*"), None, "a file is no directory");
        assert_eq!(files.expand("plain"), None, "no pattern");
        assert_eq!(files.expand(""), None);
        assert_eq!(files.expand("[abc"), None);
        files.listed.clear();
        assert_eq!(files.expand("/tmp/a[bc"), None);
        assert!(files.listed.is_empty(), "nothing listed for a word without a pattern");
        assert_eq!(files.expand("/tmp/[!a-z]*"), None, "each begins with a letter, .hidden with a dot");
    }
}
