//! The fake Entra tenant: users, SSPR settings and flows, token service, Graph-shaped API, audit log
//! and the relay. Filled by issue [D]; it holds no behaviour yet.
