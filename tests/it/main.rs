//! One integration-test binary: every test runs the real server on a random port.

mod graph;
