//! The models' parity tests against their references, one binary (candle links once):
//! each module a former test file. Needs the weights from `scripts/fetch-models`.

mod clip;
mod effnet;
mod parity;
mod sentence;
