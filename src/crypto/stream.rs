//! STUB: the streaming export cipher is being written.
