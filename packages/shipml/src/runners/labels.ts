/** Labels on what the container runner creates (no imports: the server reads them cheaply). */
export const COMMAND_LABEL = 'dev.shipml.role';
/** The run a command container belongs to (container/sweep.ts removes it once the run is over). */
export const RUN_LABEL = 'dev.shipml.run';
