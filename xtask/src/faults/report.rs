//! What the run found: one line per round as it goes, one line per fault kind at the end, the
//! evidence of every broken invariant, and a copy of it all (with the engine's log) in
//! bench/out/faults/.

use super::check::{last_lines, Alert};
use super::inject::{Injected, Kind, KINDS};
use super::world::World;
use std::collections::BTreeMap;
use std::fmt::Write;

pub struct Break {
    pub kind: Kind,
    pub invariant: &'static str,
    pub detail: String,
    /// A known gap of this tree (see `Injected::xfail`): shown, not counted.
    pub xfail: bool,
}

#[derive(Default)]
struct PerKind {
    rounds: usize,
    survived: usize,
    missed: usize,
    skipped: Option<String>,
}

pub struct Report {
    rounds: usize,
    seed: u64,
    kinds: BTreeMap<usize, PerKind>,
    breaks: Vec<Break>,
    lines: Vec<String>,
}

fn index(kind: Kind) -> usize {
    KINDS.iter().position(|k| *k == kind).unwrap_or(0)
}

impl Report {
    pub fn new(rounds: usize, seed: u64) -> Report {
        Report { rounds, seed, kinds: BTreeMap::new(), breaks: Vec::new(), lines: Vec::new() }
    }

    fn log(&mut self, line: String) {
        eprintln!("{line}");
        self.lines.push(line);
    }

    pub fn skip(&mut self, round: usize, kind: Kind, why: String) {
        let k = self.kinds.entry(index(kind)).or_default();
        k.rounds += 1;
        k.skipped = Some(why.clone());
        self.log(format!("round {round:>3} {:<18} skipped: {why}", kind.name()));
    }

    pub fn record(&mut self, round: usize, kind: Kind, hit: bool, notes: Vec<String>, breaks: Vec<Break>) {
        let k = self.kinds.entry(index(kind)).or_default();
        k.rounds += 1;
        let counted = breaks.iter().filter(|b| !b.xfail).count();
        if !hit {
            k.missed += 1;
        }
        // A known gap (expected to fail) is not survival either.
        if breaks.is_empty() && hit {
            k.survived += 1;
        }
        let verdict = match (counted, hit) {
            (0, true) if !breaks.is_empty() => "expected failure only".to_string(),
            (0, true) => "survived".to_string(),
            (0, false) => "fault missed its target".to_string(),
            (n, _) => format!("{n} broken"),
        };
        self.log(format!("round {round:>3} {:<18} {verdict}", kind.name()));
        for n in notes {
            self.log(format!("          note: {n}"));
        }
        for b in &breaks {
            self.log(format!("          {}: {}{}", b.invariant, b.detail, if b.xfail { " [expected to fail]" } else { "" }));
        }
        self.breaks.extend(breaks);
    }

    pub fn broken(&self) -> usize {
        self.breaks.iter().filter(|b| !b.xfail).count()
    }

    fn table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "\nfaults: seed {} — per fault kind", self.seed);
        for (i, kind) in KINDS.iter().enumerate() {
            let Some(k) = self.kinds.get(&i) else { continue };
            if let Some(why) = &k.skipped {
                let _ = writeln!(o, "  {:<18} rounds {:>2}  skipped: {why}", kind.name(), k.rounds);
                continue;
            }
            let mine: Vec<&Break> = self.breaks.iter().filter(|b| b.kind == *kind).collect();
            let mut by: BTreeMap<String, usize> = BTreeMap::new();
            for b in &mine {
                *by.entry(format!("{}{}", b.invariant, if b.xfail { " (expected to fail)" } else { "" })).or_default() += 1;
            }
            let which: Vec<String> = by.iter().map(|(inv, n)| format!("{inv} x{n}")).collect();
            let broken = mine.iter().filter(|b| !b.xfail).count();
            let _ = writeln!(
                o,
                "  {:<18} rounds {:>2}  survived {:>2}  missed {:>2}  broken {:>2}{}",
                kind.name(),
                k.rounds,
                k.survived,
                k.missed,
                broken,
                if which.is_empty() { String::new() } else { format!("  ({})", which.join(", ")) }
            );
        }
        let kinds = self.kinds.values().filter(|k| k.skipped.is_none()).count();
        // Rounds run, which is fewer than asked when the run stopped early.
        let rounds: usize = self.kinds.values().map(|k| k.rounds).sum();
        if rounds < self.rounds {
            let _ = writeln!(o, "faults: stopped after {rounds} of {} rounds", self.rounds);
        }
        let _ = writeln!(o, "faults: {rounds} rounds, {kinds} kinds, {} broken invariants", self.broken());
        o
    }

    pub fn print(&self) {
        print!("{}", self.table());
    }

    /// Keeps the round log, the table and the engine's own log for whoever checks a fix.
    pub fn save(&self, w: &World) {
        let out = crate::root().join("bench/out/faults");
        if std::fs::create_dir_all(&out).is_err() {
            return;
        }
        let text = format!("{}\n{}", self.lines.join("\n"), self.table());
        let _ = std::fs::write(out.join(format!("report-{}.txt", self.seed)), text);
        let _ = std::fs::copy(&w.log, out.join(format!("engine-{}.log", self.seed)));
        // The engine is stopped by now: its database, for rows behind a finding.
        for f in ["caretaker.db", "caretaker.db-wal"] {
            let _ = std::fs::copy(w.data.join(f), out.join(format!("{}-{f}", self.seed)));
        }
    }
}

/// Broken alert expectations of a round: (detail, expected to fail).
pub fn alert_problems(kind: Kind, inj: &Injected, new: &[Alert]) -> Vec<(String, bool)> {
    let show =
        |a: &Alert| format!("#{} {}/{} {} \"{}\"", a.id, a.rule, a.subject, a.status, a.message.chars().take(90).collect::<String>());
    let mut out = Vec::new();
    let xfail = inj.xfail.is_some();
    let mut per_key: BTreeMap<(String, String), usize> = BTreeMap::new();
    for a in new {
        *per_key.entry((a.rule.clone(), a.subject.clone())).or_default() += 1;
    }
    for ((rule, subject), n) in &per_key {
        if *n > 1 {
            out.push((format!("duplicated: {rule}/{subject} opened {n} times in one round"), xfail));
        }
    }
    match kind.outage_rules().filter(|_| inj.hit) {
        None => {
            for a in new {
                out.push((format!("alert without an outage: {}", show(a)), false));
            }
        }
        Some(rules) => {
            let answers: Vec<&Alert> = new.iter().filter(|a| rules.is_empty() || rules.contains(&a.rule.as_str())).collect();
            match answers.len() {
                0 => {
                    let why = inj.xfail.clone().unwrap_or_default();
                    let want = if rules.is_empty() { "any alert".to_string() } else { rules.join("|") };
                    out.push((
                        format!(
                            "lost: the outage opened no alert (wanted {want}){}",
                            if why.is_empty() { String::new() } else { format!("; {why}") }
                        ),
                        xfail,
                    ));
                }
                1 => {}
                n => out.push((
                    format!("duplicated: the outage opened {n} alerts: {}", answers.iter().map(|a| show(a)).collect::<Vec<_>>().join("; ")),
                    xfail,
                )),
            }
            for a in answers.iter().filter(|a| a.status != "resolved") {
                out.push((format!("not resolved after recovery: {}", show(a)), xfail));
            }
            for a in new.iter().filter(|a| !answers.iter().any(|b| b.id == a.id)) {
                out.push((format!("alert unrelated to the outage: {}", show(a)), false));
            }
        }
    }
    out
}

/// The last lines of the engine's log, for a finding's evidence.
pub fn log_tail(w: &World, n: usize) -> String {
    std::fs::read_to_string(&w.log).map(|s| last_lines(&s, n)).unwrap_or_default()
}
