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
use std::sync::{Condvar, Mutex, PoisonError, RwLock};

use super::super::lines::{line_text, Batch, LineBatches, RawLine, TooLong};
use super::super::output::{errln, stdout_failed};
use super::{print_verdict, Context, Ended, Summary};
use riskgate::input::okta::parse_event_with;
use riskgate::Event;

/// Lines a batch holds at most.
const BATCH_LINES: usize = 16_384;
/// Bytes after which a batch takes no more lines (lines of ~900 bytes, as
/// Okta's, fill a batch by count first).
const BATCH_BYTES: usize = 16 << 20;
/// Lines parsed in one go by one worker: small enough that the evaluating
/// worker seldom waits for the first chunk of a batch.
const CHUNK_LINES: usize = 128;
/// Chunks a worker that only parses stays ahead of the evaluation.
const LOOKAHEAD: usize = 8;
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

/// An event of a batch once parsed: its line, and its agent's partition.
struct Parsed<'b> {
    line: u64,
    /// The line's text (its `uuid` is read from it for a verdict printed
    /// as JSON).
    text: &'b str,
    event: Event<'b>,
    part: u32,
}

/// What one worker parsed and evaluated in a batch.
#[derive(Default)]
struct Evaluated {
    summary: Summary,
    /// The verdicts it prints, formatted one after the other.
    text: Vec<u8>,
    /// For each verdict printed, its line and where its text ends in `text`.
    shown: Vec<(u64, usize)>,
    /// The bad lines it parsed, and what is wrong with them.
    bad: Vec<(u64, String)>,
}

/// What the writer prints of a batch: what each worker found.
struct Printed {
    workers: Vec<Evaluated>,
}

/// Runs the replay on `threads` workers.
pub(super) fn replay(
    ctx: &Context<'_>,
    input: Box<dyn std::io::Read + Send>,
    first_line: u64,
    threads: usize,
    summary: &mut Summary,
) -> Ended {
    let program = ctx.decider.program();
    let shared_state = program.counters.iter().any(|c| c.by.is_some());
    let max_agents = ctx.args.max_agents;
    let mut failed = None;
    let line_no = std::thread::scope(|s| {
        let (full_tx, full_rx) = sync_channel::<Batch>(QUEUED_BATCHES);
        let (empty_tx, empty_rx) = sync_channel::<Batch>(QUEUED_BATCHES + 2);
        let (print_tx, print_rx) = sync_channel::<Printed>(QUEUED_BATCHES);
        let reader = s.spawn(move || read(input, first_line, &full_tx, &empty_rx));
        let writer = s.spawn(|| write(ctx, print_rx));
        let mut storage = Vec::new();
        for mut batch in full_rx {
            let plan = if shared_state
                || ctx.decider.stats().tracked_agents
                    + u64::try_from(batch.lines.len()).unwrap_or(u64::MAX)
                    > u64::try_from(max_agents).unwrap_or(u64::MAX)
            {
                Plan::InOrder
            } else {
                Plan::ByAgent
            };
            let printed = work(ctx, &batch, threads, plan, &mut storage);
            for w in &printed.workers {
                summary.add(&w.summary);
                summary.bad += u64::try_from(w.bad.len()).unwrap_or(u64::MAX);
            }
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

/// What the writer prints for one line.
enum Item {
    /// A verdict: worker, and its text's bounds in the worker's buffer.
    Verdict(usize, usize, usize),
    /// A bad line: worker, and its index in the worker's bad lines.
    Bad(usize, usize),
}

/// The writer thread: prints each batch's verdicts (stdout) and bad lines
/// (stderr) in input order.
fn write(ctx: &Context<'_>, batches: Receiver<Printed>) {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut items: Vec<(u64, Item)> = Vec::new();
    for printed in batches {
        items.clear();
        for (w, ev) in printed.workers.iter().enumerate() {
            let mut start = 0;
            for &(line, end) in &ev.shown {
                items.push((line, Item::Verdict(w, start, end)));
                start = end;
            }
            items.extend(
                ev.bad
                    .iter()
                    .enumerate()
                    .map(|(i, &(line, _))| (line, Item::Bad(w, i))),
            );
        }
        // A line is a verdict, a bad line or neither, on one worker.
        items.sort_unstable_by_key(|&(line, _)| line);
        for (line, item) in &items {
            match *item {
                Item::Verdict(w, start, end) => {
                    let text = printed
                        .workers
                        .get(w)
                        .and_then(|ev| ev.text.get(start..end))
                        .unwrap_or(&[]);
                    if let Err(e) = out.write_all(text) {
                        stdout_failed(&e);
                    }
                }
                Item::Bad(w, i) => {
                    if let Some((_, what)) = printed.workers.get(w).and_then(|ev| ev.bad.get(i)) {
                        ctx.report(*line, what);
                    }
                }
            }
        }
    }
    if let Err(e) = out.flush() {
        stdout_failed(&e);
    }
}

/// The parsed events of a chunk of lines: a slot a line, `None` for a
/// bad or blank one.
struct Slots<'s, 'b> {
    /// Filled by the worker that parsed the chunk.
    parsed: bool,
    events: &'s mut [Option<Parsed<'b>>],
}

/// A chunk of a batch's lines.
struct Chunk<'s, 'b> {
    lines: &'b [RawLine],
    /// Its events once a worker parsed them; emptied by that worker once
    /// every worker evaluated them, so that the thread that allocated them
    /// frees them.
    slots: RwLock<Slots<'s, 'b>>,
}

/// The work on one batch, shared by its workers.
struct Shared<'a, 's, 'b> {
    ctx: &'a Context<'a>,
    batch: &'b Batch,
    chunks: Vec<Chunk<'s, 'b>>,
    /// The next chunk no worker has taken to parse.
    next: AtomicUsize,
    /// For each worker, the chunks it is done evaluating (all of them for
    /// a worker that evaluates nothing).
    passed: Vec<AtomicUsize>,
    /// Held to wait for, and to announce, a chunk parsed or passed.
    ready: Mutex<()>,
    changed: Condvar,
    threads: u32,
    plan: Plan,
}

/// Parses and evaluates `batch` on `threads` workers. `storage` is the
/// (empty) room for a batch's events, kept from batch to batch: one
/// allocation, not one a chunk (allocations of tens of kilobytes cost a
/// consolidation of the allocator's free lists each).
fn work(
    ctx: &Context<'_>,
    batch: &Batch,
    threads: usize,
    plan: Plan,
    storage: &mut Vec<Option<Parsed<'static>>>,
) -> Printed {
    let mut events: Vec<Option<Parsed<'_>>> = emptied(std::mem::take(storage));
    events.resize_with(batch.lines.len(), || None);
    let chunks: Vec<Chunk<'_, '_>> = batch
        .lines
        .chunks(CHUNK_LINES)
        .zip(events.chunks_mut(CHUNK_LINES))
        .map(|(lines, events)| Chunk {
            lines,
            slots: RwLock::new(Slots {
                parsed: false,
                events,
            }),
        })
        .collect();
    let shared = Shared {
        ctx,
        batch,
        passed: (0..threads)
            .map(|w| {
                let evaluates = plan == Plan::ByAgent || w == 0;
                AtomicUsize::new(if evaluates { 0 } else { chunks.len() })
            })
            .collect(),
        chunks,
        next: AtomicUsize::new(0),
        ready: Mutex::new(()),
        changed: Condvar::new(),
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
    drop(shared);
    *storage = emptied(events);
    Printed { workers }
}

/// `events` emptied, its allocation kept for events of another batch
/// (an in-place collect: same size and alignment).
fn emptied<'x, 'y>(mut events: Vec<Option<Parsed<'x>>>) -> Vec<Option<Parsed<'y>>> {
    events.clear();
    events.into_iter().map(|_| None).collect()
}

impl<'b> Shared<'_, '_, 'b> {
    /// Worker `w`: parses chunks, evaluates its events, then frees the
    /// chunks it parsed as soon as every worker is done with them.
    fn run(&self, w: usize) -> Evaluated {
        let mut done = Evaluated::default();
        // The chunks this worker parsed (in increasing order), and how many
        // of them it freed.
        let mut mine = Vec::new();
        let mut freed = 0;
        let evaluates = self.plan == Plan::ByAgent || w == 0;
        if evaluates {
            for i in 0..self.chunks.len() {
                self.evaluate(w, i, &mut done, &mut mine);
                if let Some(p) = self.passed.get(w) {
                    p.store(i + 1, Ordering::Release);
                }
                self.announce();
                self.free(&mine, &mut freed, false);
            }
        } else {
            while let Some(i) = self.take() {
                // No further ahead of the evaluation than `LOOKAHEAD`
                // chunks: the events held stay few, and their memory is
                // reused from chunk to chunk. (The chunk evaluated next is
                // always within reach, so this waits for no one's parse.)
                self.wait(|| self.passed_by_all() + LOOKAHEAD > i);
                self.free(&mine, &mut freed, false);
                self.parse(i, &mut done.bad);
                mine.push(i);
            }
        }
        self.free(&mine, &mut freed, true);
        done
    }

    /// The number of chunks every worker is done evaluating.
    fn passed_by_all(&self) -> usize {
        self.passed
            .iter()
            .map(|p| p.load(Ordering::Acquire))
            .min()
            .unwrap_or(0)
    }

    /// Frees the events of the chunks in `mine` past `freed` that every
    /// worker is done evaluating; with `all`, waits to free every one.
    fn free(&self, mine: &[usize], freed: &mut usize, all: bool) {
        while let Some(&i) = mine.get(*freed) {
            if self.passed_by_all() <= i {
                if !all {
                    return;
                }
                self.wait(|| self.passed_by_all() > i);
            }
            if let Some(chunk) = self.chunks.get(i) {
                let mut slots = chunk.slots.write().unwrap_or_else(PoisonError::into_inner);
                slots.events.iter_mut().for_each(|e| *e = None);
            }
            *freed += 1;
        }
    }

    /// Evaluates worker `w`'s events of chunk `i`, parsing chunks (noted
    /// in `mine`) until it is parsed.
    fn evaluate(&self, w: usize, i: usize, done: &mut Evaluated, mine: &mut Vec<usize>) {
        let Some(chunk) = self.chunks.get(i) else {
            return;
        };
        let slots = loop {
            let slots = chunk.slots.read().unwrap_or_else(PoisonError::into_inner);
            if slots.parsed {
                break slots;
            }
            drop(slots);
            match self.take() {
                Some(j) => {
                    self.parse(j, &mut done.bad);
                    mine.push(j);
                }
                None => self.wait(|| {
                    chunk
                        .slots
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .parsed
                }),
            }
        };
        // The partition, if it is one, locked once for the chunk.
        let mut evaluator = self.ctx.decider.evaluator();
        for p in slots.events.iter().flatten() {
            let Parsed {
                line,
                text,
                event,
                part,
            } = p;
            if self.plan == Plan::ByAgent && *part as usize != w {
                continue;
            }
            done.summary.events += 1;
            let verdict = evaluator.evaluate(event, self.ctx.args.explain);
            done.summary.count(&verdict);
            if self.ctx.shown(&verdict)
                && print_verdict(&mut done.text, (*line, text, event), &verdict, self.ctx).is_ok()
            {
                done.shown.push((*line, done.text.len()));
            }
        }
    }

    /// The next chunk to parse, if any is left.
    fn take(&self) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.chunks.len()).then_some(i)
    }

    /// Waits until `until` holds; it must become true by a change that is
    /// then [announced](Self::announce).
    fn wait(&self, until: impl Fn() -> bool) {
        let mut guard = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        while !until() {
            guard = self
                .changed
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Wakes the workers waiting for a chunk parsed or passed.
    fn announce(&self) {
        let _guard = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        self.changed.notify_all();
    }

    /// Parses chunk `i` (its bad lines into `bad`) and announces it.
    fn parse(&self, i: usize, bad: &mut Vec<(u64, String)>) {
        let Some(chunk) = self.chunks.get(i) else {
            return;
        };
        let args = self.ctx.args;
        // Filled out of the lock, then handed back parsed.
        let events = std::mem::take(
            &mut chunk
                .slots
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .events,
        );
        for (raw, slot) in chunk.lines.iter().zip(events.iter_mut()) {
            let line = raw.no;
            if raw.too_long {
                bad.push((line, TooLong.to_string()));
                continue;
            }
            let text = match line_text(self.batch.bytes_of(raw)) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(e) => {
                    bad.push((line, e.to_string()));
                    continue;
                }
            };
            match parse_event_with(text, args.format, &self.ctx.attrs) {
                Ok(event) => {
                    *slot = Some(Parsed {
                        line,
                        text,
                        part: riskgate::partition_of(&event.agent, self.threads),
                        event,
                    });
                }
                Err(e) => bad.push((line, e.to_string())),
            }
        }
        {
            let mut slots = chunk.slots.write().unwrap_or_else(PoisonError::into_inner);
            slots.events = events;
            slots.parsed = true;
        }
        self.announce();
    }
}
