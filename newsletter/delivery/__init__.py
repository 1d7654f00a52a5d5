"""Delivery: test sends and list sends over SMTP, journaled so that nobody gets an issue twice.

| module | what it does |
|--------|--------------|
| ``recipients`` | read and check the subscriber CSV (invalid addresses, duplicates, by line) |
| ``preflight`` | decide whether a list send may start (list, issue and check problems) |
| ``signing`` | DKIM signatures (dkimpy) |
| ``smtp`` | the one-method :class:`~.smtp.Sender` and the real SMTP one |
| ``ratelimit`` | at most ``[send] rate`` messages per second over all connections |
| ``journal`` | the SQLite send journal, one per workspace in the per-user state folder (``plan.state_dir``) |
| ``send`` | the orchestration: connections in worker processes, journal windows, retries, outcomes |
| ``plan`` | a send's setup from the workspace: the template, values, sender, journal |
"""
