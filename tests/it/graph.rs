//! Graph client and simulator tests (over real HTTP).
