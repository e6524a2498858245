//! STUB: the export builder is being written.
