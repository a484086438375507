#![allow(dead_code)]

pub mod samples;
