//! STUB: the demo CRM is being written.
