//! Empty on purpose (and so is build.rs, there only so that its build-dependencies
//! take part): see Cargo.toml. The shell, the bench and the Python module depend
//! on this crate only for the features it turns on.
