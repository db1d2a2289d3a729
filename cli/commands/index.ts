import type { Command } from './types.ts';

/**
 * Every `sluice` command: its summary, and how to load it. Commands load lazily so `sluice token`
 * or `sluice policy check` never pull in Envoy, Redis or gRPC code they do not use.
 */
interface CommandEntry {
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: Record<string, CommandEntry> = {
  gateway: { summary: 'run the whole gateway, supervised: Envoy + ext-authz + ext-proc + admin (--config sluice.yaml)', load: async () => (await import('./gateway.ts')).gatewayCommand },
  dev: { summary: 'the gateway on the embedded dev config: dev issuer + demo upstream (npm start)', load: async () => (await import('./gateway.ts')).devCommand },
  'ext-authz': { summary: 'run the ext-authz gRPC service (--config sluice.yaml)', load: async () => (await import('./ext-authz.ts')).extAuthzCommand },
  'ext-proc': { summary: 'run the ext-proc gRPC service (--config sluice.yaml)', load: async () => (await import('./ext-proc.ts')).extProcCommand },
  token: { summary: 'mint a DEV-ONLY token from the dev issuer (--sub, --groups, --claim k=v)', load: async () => (await import('./token.ts')).tokenCommand },
  'policy check': { summary: 'validate a policy directory: sluice policy check [dir] [--config sluice.yaml]', load: async () => (await import('./policy-check.ts')).policyCheckCommand },
  'policy explain': { summary: 'explain a decision: --target --method --path and --sub/--groups/--claim or --token', load: async () => (await import('./policy-explain.ts')).policyExplainCommand },
  'envoy render': { summary: 'print the Envoy YAML for a config (--config, --validate)', load: async () => (await import('./envoy-render.ts')).envoyRenderCommand },
  'envoy drain': { summary: 'drain an Envoy run apart: close its listeners, wait for in-flight requests (--admin-url, --timeout)', load: async () => (await import('./envoy-drain.ts')).envoyDrainCommand },
  'approvals list': { summary: 'list approvals you can decide: [--status --subject --target --limit --json] (--url, SLUICE_TOKEN)', load: async () => (await import('./approvals.ts')).approvalsListCommand },
  'approvals approve': { summary: 'approve a pending request: sluice approvals approve <id> [--reason <text>]', load: async () => (await import('./approvals.ts')).approvalsApproveCommand },
  'approvals deny': { summary: 'deny a pending request: sluice approvals deny <id> --reason <text>', load: async () => (await import('./approvals.ts')).approvalsDenyCommand },
  'sessions list': { summary: 'list recorded sessions: [--subject --target --since --until --limit --json] (--store file|postgres)', load: async () => (await import('./sessions.ts')).sessionsListCommand },
  'sessions show': { summary: 'print one recorded session, headers and bodies as recorded: sluice sessions show <id>', load: async () => (await import('./sessions.ts')).sessionsShowCommand },
  'sessions verify': { summary: 'check the hash chain of the session store; names the first altered, removed or reordered record: [--json --key-file]', load: async () => (await import('./sessions-chain.ts')).sessionsVerifyCommand },
  'sessions purge': { summary: 'remove records older than a time, keeping the chain verifiable: --before <when> (--yes | --dry-run)', load: async () => (await import('./sessions-chain.ts')).sessionsPurgeCommand },
  'sessions replay': { summary: 'print a recorded exchange in order, with timings: sluice sessions replay <id>', load: async () => (await import('./sessions.ts')).sessionsReplayCommand },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  sluice ${name.padEnd(width)} ${c.summary}`);
  return `usage: sluice <command> [options]\n\n${lines.join('\n')}\n\nRun a command with --help for its options.\n`;
}
