/**
 * Group commit: calls that arrive while a commit is in flight wait for it and then go
 * together in the next one, so under load one transaction (one lock, one WAL append, one
 * fsync) carries many writes. An idle store starts the commit on the next turn of the event
 * loop (setImmediate), not at once: requests that arrived together are parsed first and
 * join it — with SQLite's synchronous driver a transaction would otherwise finish before
 * the next request is read, and every batch would be one call. A batch that fails is
 * retried one call at a time: a bad call (or a deadlock victim) fails alone.
 */
export class GroupCommit<I, O> {
  private pending: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private draining = false;

  constructor(
    /** Commits the items in one transaction: one result per item, in order. */
    private readonly commit: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 64,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          const results = await this.commit(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(results[i]!));
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
            continue;
          }
          for (const b of batch)
            await this.commit([b.item]).then(
              ([result]) => b.resolve(result!),
              (e: unknown) => b.reject(e),
            );
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
