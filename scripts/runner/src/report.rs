//! Reading test results out of output: kernel serial logs and `cargo test` runs.

/// A test's outcome as printed on a `test NAME ... ok|FAILED` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestLine {
    /// The test's name.
    pub name: String,
    /// True for `ok`.
    pub passed: bool,
}

/// Parses one `test NAME ... ok` / `test NAME ... FAILED` line.
pub fn parse_test_line(line: &str) -> Option<TestLine> {
    let rest = line.trim_end_matches(['\r', '\n']).strip_prefix("test ")?;
    let (name, verdict) = rest.rsplit_once(" ... ")?;
    let passed = match verdict.trim() {
        "ok" => true,
        "FAILED" => false,
        _ => return None,
    };
    (!name.is_empty() && !name.contains(' ')).then(|| TestLine { name: name.to_string(), passed })
}

/// Every test line in `log`, in order.
pub fn test_lines(log: &str) -> Vec<TestLine> {
    log.lines().filter_map(parse_test_line).collect()
}

/// The `N` of a kernel's `running N kernel tests` line.
pub fn announced_tests(log: &str) -> Option<usize> {
    log.lines().find_map(|l| l.trim().strip_prefix("running ")?.split_whitespace().next()?.parse().ok())
}

/// Sums `test result: ... N passed; M failed; ...` lines of `cargo test` output.
pub fn cargo_test_totals(output: &str) -> Option<(usize, usize)> {
    let mut totals = None;
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        let mut passed = None;
        let mut failed = None;
        for part in rest.split([';', '.']) {
            let mut words = part.split_whitespace();
            match (words.next().and_then(|n| n.parse::<usize>().ok()), words.next()) {
                (Some(n), Some("passed")) => passed = Some(n),
                (Some(n), Some("failed")) => failed = Some(n),
                _ => {}
            }
        }
        if let (Some(p), Some(f)) = (passed, failed) {
            let (tp, tf) = totals.unwrap_or((0, 0));
            totals = Some((tp + p, tf + f));
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_lines_are_recognised_exactly() {
        assert_eq!(
            parse_test_line("test boot_runs_at_el1 ... ok\r"),
            Some(TestLine { name: "boot_runs_at_el1".into(), passed: true })
        );
        assert_eq!(parse_test_line("test a::b ... FAILED"), Some(TestLine { name: "a::b".into(), passed: false }));
        assert_eq!(parse_test_line("test x ... ignored"), None);
        assert_eq!(parse_test_line("the test x ... ok"), None);
        assert_eq!(parse_test_line("test  ... ok"), None);
        let log = "Muon\nrunning 2 kernel tests on rpi3\ntest a ... ok\n    why\ntest b ... FAILED\nktest: 1 passed, 1 failed\n";
        assert_eq!(test_lines(log).len(), 2);
        assert_eq!(announced_tests(log), Some(2));
        assert_eq!(announced_tests("nothing"), None);
    }

    #[test]
    fn cargo_totals_add_up_every_binary() {
        let out = "test result: ok. 33 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                   test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out\n\
                   test result: ok. 0 passed; 0 failed; 0 ignored";
        assert_eq!(cargo_test_totals(out), Some((36, 2)));
        assert_eq!(cargo_test_totals("error[E0425]: cannot find value"), None);
    }
}
