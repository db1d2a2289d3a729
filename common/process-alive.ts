/**
 * Whether a process with this pid exists (signal 0 probes without signalling). EPERM means it
 * exists under another user. What the pid-file locks of the session store and the open-exchange
 * journal use to tell a live holder from one that is gone.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
