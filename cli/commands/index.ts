import type { Command } from './types.ts';
import { devCommand } from './dev.ts';
import { extAuthzCommand } from './ext-authz.ts';
import { tokenCommand } from './token.ts';
import { policyCheckCommand } from './policy-check.ts';
import { policyExplainCommand } from './policy-explain.ts';
import { envoyRenderCommand } from './envoy-render.ts';

export const COMMANDS: Record<string, Command> = {
  dev: devCommand,
  'ext-authz': extAuthzCommand,
  token: tokenCommand,
  'policy check': policyCheckCommand,
  'policy explain': policyExplainCommand,
  'envoy render': envoyRenderCommand,
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  sluice ${name.padEnd(16)} ${c.summary}`);
  return `usage: sluice <command> [options]\n\n${lines.join('\n')}\n\nRun a command with --help for its options.\n`;
}
