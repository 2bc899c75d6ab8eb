//! Pipeline-set versions: the hash that pins a run to the pipelines that started it.

use sha2::{Digest, Sha256};

/// Hex SHA-256 over every file of a pipeline set: for each path in sorted order, the path bytes,
/// a zero byte, the content length as little-endian u64, then the content. Paths count (renaming
/// a file changes the version) and the order is deterministic, unlike the original engine's hash.
pub fn pipeline_set_hash<'a, I, P, C>(files: I) -> String
where
    I: IntoIterator<Item = (&'a P, &'a C)>,
    P: AsRef<str> + ?Sized + 'a,
    C: AsRef<[u8]> + ?Sized + 'a,
{
    let mut entries: Vec<(&str, &[u8])> = files
        .into_iter()
        .map(|(p, c)| (p.as_ref(), c.as_ref()))
        .collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut hasher = Sha256::new();
    for (path, content) in entries {
        hasher.update(path.as_bytes());
        hasher.update([0u8]);
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(content);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn hash_covers_paths_and_contents() {
        let a: BTreeMap<String, Vec<u8>> = [("a/main.hops".to_owned(), b"on x {}".to_vec())].into();
        let renamed: BTreeMap<String, Vec<u8>> =
            [("b/main.hops".to_owned(), b"on x {}".to_vec())].into();
        let edited: BTreeMap<String, Vec<u8>> =
            [("a/main.hops".to_owned(), b"on y {}".to_vec())].into();
        let h = pipeline_set_hash(&a);
        assert_eq!(h.len(), 64);
        assert_eq!(h, pipeline_set_hash(&a.clone()));
        assert_ne!(h, pipeline_set_hash(&renamed));
        assert_ne!(h, pipeline_set_hash(&edited));
        // Boundaries between files are part of the hash.
        let split: BTreeMap<&str, &[u8]> = [("a", &b"bc"[..]), ("d", &b""[..])].into();
        let joined: BTreeMap<&str, &[u8]> = [("a", &b"b"[..]), ("d", &b"c"[..])].into();
        assert_ne!(pipeline_set_hash(&split), pipeline_set_hash(&joined));
    }
}
