/** A server a service started: where it listens, and how to stop it. */
export interface RunningServer {
  port: number;
  /** Stops; in-flight calls get `graceMs` to finish where the server supports it (0 = cut now). */
  close(graceMs?: number): Promise<void>;
}
