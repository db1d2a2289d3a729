/**
 * Which StartupMessage parameters a client may pass to the server through the gateway.
 *
 * Every parameter other than user, database, options and replication is a server setting
 * applied at login (`role=…` would switch roles before the first statement is checked), so the
 * gateway keeps a short list of settings clients send for formatting and drops the rest;
 * `replication` (a replication connection bypasses statement policy) and `options` (command-line
 * switches, `-c role=…` among them) are refused outright.
 */
const PASSED = new Set([
  'application_name', 'client_encoding', 'DateStyle', 'TimeZone', 'IntervalStyle', 'extra_float_digits',
  'search_path', 'standard_conforming_strings', 'lc_monetary', 'lc_numeric', 'lc_time', 'bytea_output',
]);
const REFUSED = new Set(['replication', 'options']);

export type StartupCheck =
  | { ok: true; user: string; database: string; passed: Map<string, string>; dropped: string[] }
  | { ok: false; message: string; sqlstate: string };

export function checkStartupParams(params: ReadonlyMap<string, string>): StartupCheck {
  const user = params.get('user');
  if (!user) return { ok: false, sqlstate: '28000', message: 'no PostgreSQL user name specified in startup packet' };
  const database = params.get('database') || user;
  const passed = new Map<string, string>();
  const dropped: string[] = [];
  for (const [name, value] of params) {
    if (name === 'user' || name === 'database') continue;
    if (REFUSED.has(name)) {
      return { ok: false, sqlstate: '0A000', message: `the startup parameter "${name}" is not allowed through the Sluice gateway` };
    }
    if (PASSED.has(name)) passed.set(name, value);
    else dropped.push(name);
  }
  return { ok: true, user, database, passed, dropped };
}
