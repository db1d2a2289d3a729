import { loadPolicyDir } from '../../ext-authz/policy/index.ts';
import { isSluiceError } from '../../common/errors.ts';
import type { Command } from './types.ts';
import { parse, REPO_POLICIES } from './common.ts';

export const policyCheckCommand: Command = {
  async run(args) {
    const { positionals } = parse(args, {}, true);
    const dir = positionals[0] ?? REPO_POLICIES;
    try {
      const set = await loadPolicyDir(dir);
      process.stdout.write(`ok: ${set.sources.length} file(s), ${set.targets.size} target(s) in ${dir}\n`);
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
