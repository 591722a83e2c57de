/**
 * How the library reports bytes moving, without knowing how (or whether) they are shown.
 * The CLI renders a bar in a terminal and plain lines in CI; tests and library users may
 * pass nothing.
 */
export interface ProgressReporter {
  /** A transfer of `total` bytes begins. */
  begin(label: string, total: number): TransferProgress;
}

export interface TransferProgress {
  /** `done` bytes of the transfer have moved so far. */
  update(done: number): void;
  /** The transfer ended (successfully or not). */
  end(): void;
}

export const silentProgress: ProgressReporter = {
  begin: () => ({ update: () => undefined, end: () => undefined }),
};
