"""Mail, below every feature: the outbox (`models`), queueing and sending it (`services`),
the SMTP transport (`smtp`) and the sending job (`jobs`). A feature queues mail in its own
transaction; the scheduler's `outbox.send` job and each reminder pass send it after commit."""
