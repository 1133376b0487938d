//! `riskgate replay --threads N` (N > 1): the same output as one thread,
//! from several.
//!
//! A reader thread cuts the input into batches of lines; each batch is
//! parsed and evaluated by the N workers (the calling thread and N - 1
//! others), then handed to a writer thread, which prints its verdicts and
//! bad lines in input order while the next batch is worked on.
//!
//! Within a batch, the workers parse chunks of lines, taking the next
//! unparsed chunk in turn, and evaluate the parsed events in input order:
//!
//! * by agent ([`Plan::ByAgent`]): worker `w` evaluates the events whose
//!   agent is in partition `w` of N ([`riskgate::partition_of`]); agents
//!   share no state, so each agent's events are evaluated in input order
//!   by one thread, which gives each verdict its single-thread value;
//! * in order ([`Plan::InOrder`]), when the rules keep state shared between
//!   agents (`count(..) over W by F`, kept per value of `F` whoever the
//!   agent), or when a batch could reach `--max-agents` (which agents are
//!   tracked then depends on the order they come in): worker 0 evaluates
//!   every event, in input order, as soon as its chunk is parsed, while the
//!   others parse the chunks after it.
//!
//! Each worker formats the verdicts it prints into its own buffer, with
//! their line numbers; the writer merges the workers' buffers and the bad
//! lines by line number.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

use super::super::lines::{line_text, Batch, LineBatches, RawLine, TooLong};
use super::super::output::{errln, stdout_failed};
use super::{print_verdict, Context, Ended, Summary};
use riskgate::input::okta::parse_event_with;
use riskgate::Event;

/// Lines a batch holds at most.
const BATCH_LINES: usize = 8192;
/// Bytes after which a batch takes no more lines (lines of ~900 bytes, as
/// Okta's, fill a batch by count first).
const BATCH_BYTES: usize = 16 << 20;
/// Lines parsed in one go by one worker: small enough that the evaluating
/// worker seldom waits for the first chunk of a batch.
const CHUNK_LINES: usize = 128;
/// Batches read ahead of the one being evaluated, and batches waiting for
/// the writer.
const QUEUED_BATCHES: usize = 2;

/// Who evaluates which events of a batch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Plan {
    /// Worker `w` evaluates the events of the agents in partition `w`.
    ByAgent,
    /// Worker 0 evaluates every event.
    InOrder,
}

/// A line of a batch once parsed. Nearly every line is an event: boxing
/// them to make bad lines smaller would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Parsed<'b> {
    /// An event, and the partition of its agent.
    Event {
        line: u64,
        event: Event<'b>,
        part: u32,
    },
    /// A bad line and what is wrong with it.
    Bad { line: u64, what: String },
}

/// What one worker evaluated in a batch.
#[derive(Default)]
struct Evaluated {
    summary: Summary,
    /// The verdicts it prints, formatted one after the other.
    text: Vec<u8>,
    /// For each verdict printed, its line and where its text ends in `text`.
    shown: Vec<(u64, usize)>,
}

/// What the writer prints of a batch.
struct Printed {
    workers: Vec<Evaluated>,
    /// Bad lines and what is wrong with them, in input order.
    bad: Vec<(u64, String)>,
}

/// Runs the replay on `threads` workers.
pub(super) fn replay(
    ctx: &Context<'_>,
    input: Box<dyn std::io::Read + Send>,
    first_line: u64,
    threads: usize,
    summary: &mut Summary,
) -> Ended {
    let program = ctx.engine.program();
    let shared_state = program.counters.iter().any(|c| c.by.is_some());
    let max_agents = ctx.engine.store().config().max_agents;
    let mut failed = None;
    let line_no = std::thread::scope(|s| {
        let (full_tx, full_rx) = sync_channel::<Batch>(QUEUED_BATCHES);
        let (empty_tx, empty_rx) = sync_channel::<Batch>(QUEUED_BATCHES + 2);
        let (print_tx, print_rx) = sync_channel::<Printed>(QUEUED_BATCHES);
        let reader = s.spawn(move || read(input, first_line, &full_tx, &empty_rx));
        let writer = s.spawn(|| write(ctx, print_rx));
        for mut batch in full_rx {
            let plan = if shared_state
                || ctx.engine.stats().tracked_agents
                    + u64::try_from(batch.lines.len()).unwrap_or(u64::MAX)
                    > u64::try_from(max_agents).unwrap_or(u64::MAX)
            {
                Plan::InOrder
            } else {
                Plan::ByAgent
            };
            let printed = work(ctx, &batch, threads, plan);
            for w in &printed.workers {
                summary.add(&w.summary);
            }
            summary.bad += u64::try_from(printed.bad.len()).unwrap_or(u64::MAX);
            if let Some(bar) = &ctx.progress {
                bar.set_position(batch.bytes_read);
            }
            if print_tx.send(printed).is_err() {
                break;
            }
            if let Some(f) = batch.failed.take() {
                failed = Some(f);
            }
            // Back to the reader for the next lines (it may have ended, or
            // have enough spare batches).
            let _ = empty_tx.try_send(batch);
        }
        drop(print_tx);
        drop(empty_tx);
        // Everything printed before the summary.
        let _ = writer.join();
        reader.join().unwrap_or(first_line)
    });
    let read_failed = match failed {
        Some((line, e)) => {
            // The input itself failed (not one line of it): exit 1 after
            // the summary of what was read.
            errln!("error: reading line {line}: {e}");
            true
        }
        None => false,
    };
    Ended {
        line_no,
        read_failed,
    }
}

/// The reader thread: fills the batches it gets back (or new ones) with
/// the next lines and sends them on, until the input ends or fails;
/// returns the number of the last line read.
fn read(
    input: Box<dyn std::io::Read + Send>,
    first_line: u64,
    full: &SyncSender<Batch>,
    empty: &Receiver<Batch>,
) -> u64 {
    let mut lines = LineBatches::starting_at(input, first_line);
    loop {
        let mut batch = empty.try_recv().unwrap_or_default();
        if !lines.next_batch(&mut batch, BATCH_LINES, BATCH_BYTES) {
            break;
        }
        let last = batch.failed.is_some();
        if full.send(batch).is_err() || last {
            break;
        }
    }
    lines.line_no()
}

/// The writer thread: prints each batch's verdicts (stdout) and bad lines
/// (stderr), merged by line number.
fn write(ctx: &Context<'_>, batches: Receiver<Printed>) {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for printed in batches {
        // The next unprinted verdict of each worker: (its index, the start
        // of its text).
        let mut next: Vec<(usize, usize)> = vec![(0, 0); printed.workers.len()];
        let mut bad = printed.bad.iter().peekable();
        loop {
            // The worker whose next verdict comes first.
            let first = printed
                .workers
                .iter()
                .zip(&next)
                .enumerate()
                .filter_map(|(w, (ev, &(i, _)))| ev.shown.get(i).map(|&(line, _)| (line, w)))
                .min();
            let line = first.map_or(u64::MAX, |(line, _)| line);
            while let Some((n, what)) = bad.next_if(|(n, _)| *n < line) {
                ctx.report(*n, what);
            }
            let Some((_, w)) = first else { break };
            let (Some(ev), Some(at)) = (printed.workers.get(w), next.get_mut(w)) else {
                break;
            };
            let end = ev.shown.get(at.0).map_or(at.1, |&(_, end)| end);
            if let Err(e) = out.write_all(ev.text.get(at.1..end).unwrap_or(&[])) {
                stdout_failed(&e);
            }
            *at = (at.0 + 1, end);
        }
    }
    if let Err(e) = out.flush() {
        stdout_failed(&e);
    }
}

/// The work on one batch, shared by its workers.
struct Shared<'a, 'b> {
    ctx: &'a Context<'a>,
    chunks: Vec<&'b [RawLine]>,
    batch: &'b Batch,
    parsed: Vec<OnceLock<Vec<Parsed<'b>>>>,
    /// The next chunk no worker has taken to parse.
    next: AtomicUsize,
    /// Held to wait for, and to announce, a parsed chunk.
    ready: Mutex<()>,
    parsed_one: Condvar,
    threads: u32,
    plan: Plan,
}

/// Parses and evaluates `batch` on `threads` workers.
fn work(ctx: &Context<'_>, batch: &Batch, threads: usize, plan: Plan) -> Printed {
    let chunks: Vec<&[RawLine]> = batch.lines.chunks(CHUNK_LINES).collect();
    let shared = Shared {
        ctx,
        parsed: chunks.iter().map(|_| OnceLock::new()).collect(),
        chunks,
        batch,
        next: AtomicUsize::new(0),
        ready: Mutex::new(()),
        parsed_one: Condvar::new(),
        threads: u32::try_from(threads).unwrap_or(u32::MAX),
        plan,
    };
    let workers = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads)
            .map(|w| {
                let shared = &shared;
                s.spawn(move || shared.run(w))
            })
            .collect();
        let mut workers = vec![shared.run(0)];
        // A worker that panicked (a bug) has printed why; its verdicts are
        // missing, the others' are printed.
        workers.extend(others.into_iter().filter_map(|h| h.join().ok()));
        workers
    });
    let bad = shared
        .parsed
        .iter()
        .filter_map(OnceLock::get)
        .flatten()
        .filter_map(|p| match p {
            Parsed::Bad { line, what } => Some((*line, what.clone())),
            Parsed::Event { .. } => None,
        })
        .collect();
    Printed { workers, bad }
}

impl<'b> Shared<'_, 'b> {
    /// Worker `w`: parses chunks and evaluates its events.
    fn run(&self, w: usize) -> Evaluated {
        let mut done = Evaluated::default();
        if self.plan == Plan::InOrder && w != 0 {
            while let Some(i) = self.take() {
                self.parse(i);
            }
            return done;
        }
        for i in 0..self.chunks.len() {
            for p in self.wait_for(i) {
                let Parsed::Event { line, event, part } = p else {
                    continue;
                };
                if self.plan == Plan::ByAgent && *part as usize != w {
                    continue;
                }
                done.summary.events += 1;
                let verdict = self.ctx.evaluate(event);
                done.summary.count(&verdict);
                if self.ctx.shown(&verdict)
                    && print_verdict(&mut done.text, *line, &verdict, self.ctx.args.output).is_ok()
                {
                    done.shown.push((*line, done.text.len()));
                }
            }
        }
        done
    }

    /// The next chunk to parse, if any is left.
    fn take(&self) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.chunks.len()).then_some(i)
    }

    /// Chunk `i` parsed: parses chunks (the next ones not taken) until it
    /// is, or waits for the worker parsing it.
    fn wait_for(&self, i: usize) -> &[Parsed<'b>] {
        let Some(cell) = self.parsed.get(i) else {
            return &[];
        };
        loop {
            if let Some(p) = cell.get() {
                return p;
            }
            match self.take() {
                Some(j) => self.parse(j),
                None => {
                    let mut guard = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
                    while cell.get().is_none() {
                        guard = self
                            .parsed_one
                            .wait(guard)
                            .unwrap_or_else(PoisonError::into_inner);
                    }
                }
            }
        }
    }

    /// Parses chunk `i` and announces it.
    fn parse(&self, i: usize) {
        let lines = self.chunks.get(i).copied().unwrap_or(&[]);
        let args = self.ctx.args;
        let mut parsed = Vec::with_capacity(lines.len());
        for raw in lines {
            let line = raw.no;
            if raw.too_long {
                parsed.push(Parsed::Bad {
                    line,
                    what: TooLong.to_string(),
                });
                continue;
            }
            let text = match line_text(self.batch.bytes_of(raw)) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(e) => {
                    parsed.push(Parsed::Bad {
                        line,
                        what: e.to_string(),
                    });
                    continue;
                }
            };
            parsed.push(match parse_event_with(text, args.format, &self.ctx.attrs) {
                Ok(event) => Parsed::Event {
                    line,
                    part: riskgate::partition_of(&event.agent, self.threads),
                    event,
                },
                Err(e) => Parsed::Bad {
                    line,
                    what: e.to_string(),
                },
            });
        }
        if let Some(cell) = self.parsed.get(i) {
            let _ = cell.set(parsed);
        }
        let _guard = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        self.parsed_one.notify_all();
    }
}
