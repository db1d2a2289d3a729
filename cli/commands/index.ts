import type { Command } from './types.ts';
import { devCommand } from './dev.ts';
import { extAuthzCommand } from './ext-authz.ts';
import { tokenCommand } from './token.ts';
import { policyCheckCommand } from './policy-check.ts';
import { policyExplainCommand } from './policy-explain.ts';
import { envoyRenderCommand } from './envoy-render.ts';
import { approvalsApproveCommand, approvalsDenyCommand, approvalsListCommand } from './approvals.ts';

export const COMMANDS: Record<string, Command> = {
  dev: devCommand,
  'ext-authz': extAuthzCommand,
  token: tokenCommand,
  'policy check': policyCheckCommand,
  'policy explain': policyExplainCommand,
  'envoy render': envoyRenderCommand,
  'approvals list': approvalsListCommand,
  'approvals approve': approvalsApproveCommand,
  'approvals deny': approvalsDenyCommand,
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  sluice ${name.padEnd(width)} ${c.summary}`);
  return `usage: sluice <command> [options]\n\n${lines.join('\n')}\n\nRun a command with --help for its options.\n`;
}
