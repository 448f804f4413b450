//! One integration-test binary: every test runs the real server on a random port, with its
//! own SQLite file, and talks to it over HTTP.

mod helpers;

mod api;
mod audit;
mod browser;
mod bulk;
mod capture_from_list;
mod cli;
mod conditional_access_tightening;
mod crash;
mod csrf;
mod db;
mod dependencies;
mod deploy;
mod export;
mod fidelity;
mod graph;
mod group_names;
mod hardening_api;
mod hardening_conn;
mod hardening_graph;
mod hardening_sse;
mod hardening_web;
mod health;
mod invites;
mod layers;
mod login;
mod look;
mod objects;
mod onboarding;
mod ops;
mod pages;
mod readable_diffs;
mod restore;
mod route_walk;
mod runs;
mod schedules;
mod secrets;
mod sessions;
mod setting_names;
mod setup;
mod small_ones;
mod tokens;
