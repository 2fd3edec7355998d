//! A fixed-size set of event indices.

use super::store::Ix;

/// A fixed-size set of event indices.
#[derive(Clone)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    pub fn new(n: usize) -> Self {
        Self { words: vec![0; (n + 63) / 64] }
    }
    #[inline]
    pub fn insert(&mut self, i: Ix) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        let had = self.words[w] >> b & 1 == 1;
        self.words[w] |= 1 << b;
        !had
    }
    #[inline]
    pub fn contains(&self, i: Ix) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        self.words.get(w).map_or(false, |x| x >> b & 1 == 1)
    }
    pub fn union_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= *b;
        }
    }
    pub fn intersect_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= *b;
        }
    }
    pub fn difference_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !*b;
        }
    }
    /// Members in increasing index order.
    pub fn iter(&self) -> impl Iterator<Item = Ix> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let b = rest.trailing_zeros();
                rest &= rest - 1;
                Some(w as Ix * 64 + b)
            })
        })
    }
}
