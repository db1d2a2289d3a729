/** A command line that does not make sense: the dispatcher prints it with the usage and exits 2. */
export class UsageError extends Error {}
