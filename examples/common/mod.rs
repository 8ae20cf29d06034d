//! Code the examples, the training tests and the epoch benchmark share: the data sets in
//! `data/`, the lectures' models, the training loop and the curves' picture.
#![allow(dead_code)] // each user takes what it needs

pub mod datasets;
pub mod fit;
pub mod models;
pub mod plot;
