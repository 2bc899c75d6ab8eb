//! Stream sequences this connection saw stored — messages it published and messages delivered
//! to it — with the run each belongs to. With them the runner can tell, without a read, that
//! the messages stored between two of a run's own are other runs' (or requests, which a run's
//! read of results and markers skips): on a busy stream almost every sequence in between is.
//!
//! A bounded table indexed by sequence: a newer sequence takes an older one's slot, so what is
//! not found was simply not seen recently, and the caller reads as it would without it. Runs
//! are kept as keyed hashes of their ids (a collision needs 2^64 luck, and the key is random
//! per process, so a run id cannot be chosen to collide).

use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use crate::connect::Bus;
use crate::subjects::{ParsedSubject, SubjectKind};

/// Slots of the table: the sequences of the last few seconds of a busy host.
const SLOTS: usize = 1 << 14;

#[derive(Clone, Copy, Default)]
struct Seen {
    sequence: u64,
    run: u64,
    request: bool,
}

/// The table (shared by every clone of a [`Bus`]).
pub(crate) struct SeenSequences {
    slots: Mutex<Box<[Seen]>>,
    keys: RandomState,
}

impl Default for SeenSequences {
    fn default() -> Self {
        SeenSequences {
            slots: Mutex::new(vec![Seen::default(); SLOTS].into_boxed_slice()),
            keys: RandomState::new(),
        }
    }
}

impl std::fmt::Debug for SeenSequences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeenSequences").finish_non_exhaustive()
    }
}

impl SeenSequences {
    /// Records that the message on `subject` is stored at `sequence`.
    pub(crate) fn note(&self, sequence: u64, subject: &ParsedSubject) {
        if sequence == 0 {
            return;
        }
        let seen = Seen {
            sequence,
            run: self.keys.hash_one(subject.run_id.as_str()),
            request: matches!(subject.kind, SubjectKind::Request { .. }),
        };
        if let Ok(mut slots) = self.slots.lock() {
            slots[slot(sequence)] = seen;
        }
    }

    fn get(&self, sequence: u64) -> Option<Seen> {
        let slots = self.slots.lock().ok()?;
        let seen = slots[slot(sequence)];
        (seen.sequence == sequence && sequence != 0).then_some(seen)
    }
}

fn slot(sequence: u64) -> usize {
    // `SLOTS` is a power of two well inside usize.
    usize::try_from(sequence % SLOTS as u64).unwrap_or(0)
}

impl Bus {
    /// Whether this connection saw the message at stream `sequence` stored and it is not one a
    /// read of run `run_id`'s results and markers returns: another run's message, or a request.
    /// `false` when it does not know (then read).
    pub fn stored_for_another_run(&self, sequence: u64, run_id: &str) -> bool {
        self.seen
            .get(sequence)
            .is_some_and(|seen| seen.request || seen.run != self.seen.keys.hash_one(run_id))
    }

    /// Records a message this connection published or was delivered (see the module's notes).
    pub(crate) fn note_stored(&self, sequence: u64, subject: &str) {
        if let Ok(parsed) = self.subjects.parse(subject) {
            self.seen.note(sequence, &parsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subjects::Subjects;

    fn parsed(subject: &str) -> ParsedSubject {
        Subjects::new("acct", "topic")
            .unwrap()
            .parse(subject)
            .unwrap()
    }

    #[test]
    fn a_sequence_is_known_until_a_newer_one_takes_its_slot() {
        let seen = SeenSequences::default();
        seen.note(7, &parsed("acct.topic.notify.r1.event"));
        assert_eq!(seen.get(7).map(|s| s.sequence), Some(7));
        assert!(seen.get(8).is_none());
        seen.note(7 + SLOTS as u64, &parsed("acct.topic.notify.r2.event"));
        assert!(seen.get(7).is_none(), "overwritten: not known any more");
        assert!(seen.get(0).is_none());
    }

    #[test]
    fn runs_and_requests_are_told_apart() {
        let seen = SeenSequences::default();
        seen.note(1, &parsed("acct.topic.notify.r1.event"));
        seen.note(2, &parsed("acct.topic.request.r1.c.app.h"));
        let r1 = seen.keys.hash_one("r1");
        let one = seen.get(1).unwrap();
        assert!(one.run == r1 && !one.request);
        let two = seen.get(2).unwrap();
        assert!(two.run == r1 && two.request);
        assert_ne!(seen.keys.hash_one("r2"), r1);
    }
}
