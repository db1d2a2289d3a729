import { T0 } from '../../ext-proc/sessions/store-suite.ts';
import type { SessionsCliIo } from './sessions.ts';

/** For the sessions CLI's tests: captures what a command prints; it reads stores, never the network. */
export function capturingIo(): SessionsCliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    env: {},
    fetch: () => Promise.reject(new Error('the sessions CLI makes no HTTP calls')),
    now: () => T0 + 10 * 60_000,
    stdout: () => out,
    stderr: () => err,
  };
}
