//! The commands that talk to a host (`run`, `event send`, `runs`, `replay`), run as the real
//! binary against the in-memory fake host served on a loopback port.

mod event;
mod input;
mod replay;
mod run;
mod runs;
mod support;
