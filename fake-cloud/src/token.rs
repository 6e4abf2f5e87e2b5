//! Filled by issue [D] (in progress).
