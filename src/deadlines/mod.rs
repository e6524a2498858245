//! STUB: the legal deadline engine is being written.
