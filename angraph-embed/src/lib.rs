//! `angraph-embed`: on-chip performance estimation.
#![no_std]
