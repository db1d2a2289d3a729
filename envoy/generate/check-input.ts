import path from 'node:path';
import { SluiceError } from '../../common/errors.ts';
import { isDuration } from './envoy-values.ts';
import { PROTOCOL_BUILDERS } from './protocols/registry.ts';
import type { Endpoint, GeneratorInput, TargetSpec } from './types.ts';

const TARGET_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export interface InputIssue { target?: string; option: string; message: string }

/**
 * Checks the whole input before anything is built and reports every problem at once, each naming
 * its target and option, so an operator fixes sluice.yaml in one pass.
 */
export function checkInput(input: GeneratorInput): void {
  const issues: InputIssue[] = [];
  const add = (option: string, message: string, target?: string) => issues.push({ option, message, ...(target ? { target } : {}) });

  for (const option of ['extAuthzTimeout', 'approvalTimeout'] as const) {
    if (!isDuration(input.envoy[option])) add(`envoy.${option}`, `"${input.envoy[option]}" is not a duration like "5s"`);
  }
  if (!Number.isInteger(input.envoy.maxRequestBodyBytes) || input.envoy.maxRequestBodyBytes < 1) add('envoy.maxRequestBodyBytes', 'must be a positive integer');
  for (const option of ['adminPort', 'httpPort'] as const) {
    if (!validPort(input.envoy[option], true)) add(`envoy.${option}`, `${input.envoy[option]} is not a port (0-65535)`);
  }
  for (const service of ['extAuthz', 'extProc'] as const) {
    checkEndpoints(input.services[service], `services.${service}`, (o, m) => add(o, m));
  }
  if (!path.isAbsolute(input.xdsDir)) add('xdsDir', `"${input.xdsDir}" must be an absolute path`);

  const seen = new Set<string>();
  for (const target of input.targets) {
    const on = (option: string, message: string) => add(option, message, target.name);
    if (!TARGET_NAME.test(target.name)) on('name', `"${target.name}" must match [a-z0-9][a-z0-9._-]*`);
    if (seen.has(target.name)) on('name', 'is declared twice');
    seen.add(target.name);
    checkTarget(target, on);
  }

  if (issues.length > 0) {
    const lines = issues.map((i) => `${i.target ? `target ${i.target}: ` : ''}${i.option}: ${i.message}`);
    throw new SluiceError('ERR_CONFIG_INVALID', `the gateway config cannot be generated:\n  ${lines.join('\n  ')}`, {
      details: { issues, ...(issues[0]?.target ? { target: issues[0].target } : {}) },
    });
  }
}

function checkTarget(target: TargetSpec, on: (option: string, message: string) => void): void {
  const builder = PROTOCOL_BUILDERS.find((b) => b.protocol === target.protocol);
  if (!builder) {
    on('protocol', `${target.protocol} is not supported yet (supported: ${PROTOCOL_BUILDERS.map((b) => b.protocol).join(', ')})`);
  } else {
    for (const issue of builder.check(target)) {
      const at = issue.indexOf(': ');
      on(issue.slice(0, at), issue.slice(at + 2));
    }
  }
  checkEndpoints(target.endpoints, 'endpoints', on);
  for (const option of ['connect', 'request', 'idle'] as const) {
    if (!isDuration(target.timeouts[option])) on(`timeouts.${option}`, `"${target.timeouts[option]}" is not a duration like "5s"`);
  }
  const hc = target.healthCheck;
  if (hc) {
    for (const option of ['intervalMs', 'timeoutMs', 'unhealthyThreshold', 'healthyThreshold'] as const) {
      if (!Number.isInteger(hc[option]) || hc[option] < 1) on(`healthCheck.${option}`, 'must be a positive integer');
    }
    if (hc.path !== undefined && !hc.path.startsWith('/')) on('healthCheck.path', `"${hc.path}" must start with "/"`);
  }
  const tls = target.tls;
  if (tls && Boolean(tls.certFile) !== Boolean(tls.keyFile)) on(tls.certFile ? 'tls.keyFile' : 'tls.certFile', 'a client certificate needs both certFile and keyFile');
}

function checkEndpoints(endpoints: readonly Endpoint[], option: string, on: (option: string, message: string) => void): void {
  if (endpoints.length === 0) on(option, 'needs at least one endpoint');
  endpoints.forEach((e, i) => {
    if (!e.host || /[\s/]/.test(e.host)) on(`${option}[${i}].host`, `"${e.host}" is not a host`);
    if (!validPort(e.port, false)) on(`${option}[${i}].port`, `${e.port} is not a port (1-65535)`);
  });
}

function validPort(port: number, zeroAllowed: boolean): boolean {
  return Number.isInteger(port) && port >= (zeroAllowed ? 0 : 1) && port <= 65535;
}
