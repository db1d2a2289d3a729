import { loadPolicyDir } from '../../ext-authz/policy/index.ts';
import { isSluiceError } from '../../common/errors.ts';
import type { Command } from './types.ts';
import { parse, readConfig, REPO_POLICIES } from './common.ts';
import { policyContext } from '../../ext-authz/policy-context.ts';

export const policyCheckCommand: Command = {
  async run(args) {
    const { positionals, values } = parse(args, { config: { type: 'string', short: 'c' } }, true);
    const dir = positionals[0] ?? REPO_POLICIES;
    // With a sluice.yaml, target names are checked against its targets and masking profile names
    // against extProc.masking.profiles; without one, neither can be.
    const configFile = values.config ?? process.env.SLUICE_CONFIG;
    const context = configFile ? policyContext(readConfig(configFile)) : {};
    try {
      const set = await loadPolicyDir(dir, context);
      process.stdout.write(`ok: ${set.sources.length} file(s), ${set.targets.size} target(s) in ${dir}\n`);
      if (!configFile) process.stdout.write('note: target and masking profile names were not checked (pass --config sluice.yaml)\n');
      return 0;
    } catch (err) {
      if (isSluiceError(err) && (err.code === 'ERR_POLICY_INVALID' || err.code === 'ERR_POLICY_DIR_UNREADABLE')) {
        process.stderr.write(`${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};
