//! A small least-recently-used cache bounded by entry count and total size.

use std::collections::VecDeque;
use std::sync::Arc;

/// LRU of `Arc<V>` by string key, bounded by `max_entries` and by the sum of entry sizes.
/// Linear scans: meant for a few dozen entries (pipeline sets), where that beats hashing.
#[derive(Debug)]
pub(crate) struct Lru<V> {
    /// Oldest first.
    entries: VecDeque<(String, Arc<V>, usize)>,
    max_entries: usize,
    max_bytes: usize,
    bytes: usize,
}

impl<V> Lru<V> {
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        Lru {
            entries: VecDeque::new(),
            max_entries: max_entries.max(1),
            max_bytes,
            bytes: 0,
        }
    }

    /// The value for `key`, now the most recently used.
    pub(crate) fn get(&mut self, key: &str) -> Option<Arc<V>> {
        let pos = self.entries.iter().position(|(k, _, _)| k == key)?;
        let entry = self.entries.remove(pos)?;
        let value = entry.1.clone();
        self.entries.push_back(entry);
        Some(value)
    }

    /// Inserts (or refreshes) `key`, evicting the least recently used entries past the bounds.
    /// An entry larger than `max_bytes` on its own is not kept.
    pub(crate) fn insert(&mut self, key: &str, value: Arc<V>, size: usize) {
        if let Some(pos) = self.entries.iter().position(|(k, _, _)| k == key)
            && let Some((_, _, old)) = self.entries.remove(pos)
        {
            self.bytes -= old;
        }
        if size > self.max_bytes {
            return;
        }
        self.entries.push_back((key.to_owned(), value, size));
        self.bytes += size;
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            match self.entries.pop_front() {
                Some((_, _, evicted)) => self.bytes -= evicted,
                None => break,
            }
        }
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_by_count_and_size() {
        let mut lru: Lru<u32> = Lru::new(2, 100);
        lru.insert("a", Arc::new(1), 10);
        lru.insert("b", Arc::new(2), 10);
        assert_eq!(lru.get("a").as_deref(), Some(&1)); // a is now newest
        lru.insert("c", Arc::new(3), 10); // evicts b
        assert!(lru.get("b").is_none());
        assert_eq!(lru.len(), 2);
        lru.insert("d", Arc::new(4), 95); // too big together: evicts until it fits
        assert_eq!(lru.len(), 1);
        assert_eq!(lru.get("d").as_deref(), Some(&4));
        lru.insert("huge", Arc::new(5), 101); // never kept
        assert!(lru.get("huge").is_none());
        lru.insert("d", Arc::new(6), 5); // refresh replaces the size
        assert_eq!(lru.bytes, 5);
    }
}
