"""Who may do what: users, passwords, roles, PKI and the audit log, for every northbound face."""
