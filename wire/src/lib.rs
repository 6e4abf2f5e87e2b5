//! The contract between fake-cloud's relay and the writeback agent: relay routes, job and result
//! types and the sealing format. Filled by issue [D]; it holds no behaviour yet.
