use std::path::Path;

use super::*;

fn actors(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_list_is_split_only_before_an_actor_outside_brackets() {
    let a = actors(&["M", "W0", "W1"]);
    assert_eq!(
        split_list(
            "M finish() -> [job 1 by W1 = 64, job 0 by W1 = 49], W0 next_job() -> None",
            &a
        ),
        [
            "M finish() -> [job 1 by W1 = 64, job 0 by W1 = 49]",
            "W0 next_job() -> None"
        ]
    );
    assert_eq!(
        split_list("M submit([7, 8]) -> [0, 1]", &a),
        ["M submit([7, 8]) -> [0, 1]"]
    );
    assert_eq!(
        split_list(r#"P2 receive() -> Data P1->P2 "a, W0 b", W1 x()"#, &a),
        [r#"P2 receive() -> Data P1->P2 "a, W0 b""#, "W1 x()"]
    );
    assert!(split_list("   ", &a).is_empty());
}

#[test]
fn a_value_is_split_at_the_first_arrow_outside_brackets() {
    assert_eq!(
        split_value("M dispatch() -> [job 0 -> W0]"),
        ("M dispatch()", Some("[job 0 -> W0]".to_string()))
    );
    assert_eq!(
        split_value(r#"P2 receive() -> Data P1->P2 "x""#),
        ("P2 receive()", Some(r#"Data P1->P2 "x""#.to_string()))
    );
    assert_eq!(split_value("K signal()"), ("K signal()", None));
}

const TUNNEL: &str = "---
source: crates/tunnel/tests/basic.rs
expression: snapshot(table)
---
step | call             | returned                           | blocked          | state
-----------------------------------------------------------------------------------------
1    | N1 arrive(North) | N1 arrive(North)                   |                  | inside: N1
2    | S1 arrive(South) |                                    | S1 arrive(South) | inside: N1
3    | N1 depart(North) | N1 depart(North), S1 arrive(South) |                  | inside: S1
4    | N2 arrive(North) |                                    | N2 arrive(North) | inside: S1
end: nothing can move; still blocked: N2 arrive(North)
";

#[test]
fn a_scenario_table_is_read_with_its_header_state_and_end() {
    let snap = read_snapshot(TUNNEL);
    assert_eq!(snap.source.as_deref(), Some("crates/tunnel/tests/basic.rs"));
    assert_eq!(snap.expression.as_deref(), Some("snapshot(table)"));
    assert_eq!(snap.body_line, 5);
    let Ok(Table::Scenario(s)) = parse(&snap.body) else {
        panic!("a scenario table");
    };
    assert_eq!(s.actors, ["N1", "S1", "N2"]);
    assert!(s.has_state);
    assert_eq!(s.steps.len(), 4);
    assert_eq!(s.steps[2].returned.len(), 2);
    assert_eq!(s.steps[2].returned[1].call.to_string(), "S1 arrive(South)");
    assert_eq!(s.steps[3].blocked, [Call::parse("N2 arrive(North)")]);
    assert_eq!(s.steps[3].state.as_deref(), Some("inside: S1"));
    assert_eq!(
        s.end.as_deref(),
        Some("nothing can move; still blocked: N2 arrive(North)")
    );
    let candidates: Vec<String> = s.steps[2]
        .candidates(s.blocked_before(2))
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(candidates, ["S1 arrive(South)", "N1 depart(North)"]);
}

#[test]
fn a_wrapped_row_is_joined_back() {
    let body = "step | call | returned | blocked
----------------------------------
1    | A wait() |  | A wait()
2    | B wait() |  | A wait(),
     |          |  | B wait()
3    | C go()   | C go(), A wait(), B wait() |
";
    let Ok(Table::Scenario(s)) = parse(body) else {
        panic!("a scenario table");
    };
    assert_eq!(s.steps[1].blocked.len(), 2);
    assert!(!s.has_state);
}

#[test]
fn a_table_that_breaks_its_rules_is_reported_with_its_line() {
    let body = "step | call | returned | blocked
----------------------------------
1    | A wait() |  |
";
    assert_eq!(
        parse(body),
        Err(Error::Malformed {
            line: 3,
            message: "the blocked column lists nothing, but the calls not yet returned are \
                      A wait()"
                .to_string()
        })
    );
    let body = "step | call | returned | blocked
----------------------------------
1    | A wait() | B go() |
";
    assert!(matches!(parse(body), Err(Error::Malformed { line: 3, .. })));
    let body = "step | call | returned | blocked
----------------------------------
2    | A wait() | A wait() |
";
    assert!(matches!(parse(body), Err(Error::Malformed { line: 3, .. })));
}

#[test]
fn a_timeline_is_read_one_event_per_row() {
    let body = "step | main | pong
------------------
1    | spawn pong |
6    |            | lock flag: acquired
7    |            | wait set
8    |            |          | (ghost finish)
";
    let Ok(Table::Timeline(t)) = parse(body) else {
        panic!("a timeline");
    };
    assert_eq!(t.threads, ["main", "pong"]);
    assert_eq!(t.events.len(), 4);
    assert_eq!(t.events[3].thread, "ghost");
    assert_eq!(t.events[3].phrase, "finish");
    assert_eq!(t.events[1].phrase, "lock flag: acquired");
    assert_eq!(t.events[0].thread, "main");
    let body = "step | main | pong
------------------
1    | spawn pong | wait set
";
    assert!(matches!(parse(body), Err(Error::Malformed { line: 3, .. })));
}

#[test]
fn process_output_is_not_a_table() {
    assert_eq!(parse("110 F is 43.3 C\n"), Err(Error::NotATable));
    assert_eq!(parse(""), Err(Error::NotATable));
    assert_eq!(parse("step | call\nno rule\n"), Err(Error::NotATable));
}

/// Every snapshot the workspace's tests write is either a table this crate reads, or not a
/// table at all: a new scenario in an unexpected shape shows up here, not as a wrong picture.
#[test]
fn every_snapshot_of_the_workspace_is_read_or_is_not_a_table() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut tables = 0;
    for krate in std::fs::read_dir(&crates).expect("crates/").flatten() {
        let dir = krate.path().join("tests/snapshots");
        for file in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = file.path();
            if path.extension().is_none_or(|e| e != "snap") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a snapshot is text");
            match parse(&read_snapshot(&text).body) {
                Ok(_) => tables += 1,
                Err(Error::NotATable) => {}
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
    }
    assert!(tables >= 20, "only {tables} tables found under crates/");
}

#[test]
fn step_snapshots_are_found_by_the_step_prefix() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let files = step_snapshots(&root, "tunnel", "basic");
    assert!(!files.is_empty());
    assert!(files.iter().all(|f| {
        f.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("basic__")
    }));
    assert_eq!(
        title_of(Path::new("x/basic__all_waiting_cars_enter.snap")),
        "all waiting cars enter"
    );
}
