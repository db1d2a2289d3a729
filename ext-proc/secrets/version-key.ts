import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { MIN_VERSION_KEY_BYTES } from './secret-versions.ts';
import type { SecretStore } from './types.ts';

const GENERATED_BYTES = 32;

export interface VersionKeyOptions {
  secrets: SecretStore;
  /** `extProc.versionKeySecret`: a secret name, or '' for the key file. */
  secretName: string;
  /** `extProc.versionKeyFile`, already resolved against the config file's folder. */
  file: string;
  logger: Logger;
}

/**
 * The gateway key secret versions are made with. A configured secret wins (operators who run
 * several gateways share it, so they agree on versions); otherwise a random key is generated on
 * first start and kept in a file, so versions survive restarts. Losing the file changes every
 * version from then on: records before and after stay readable but no longer compare.
 */
export async function loadVersionKey(options: VersionKeyOptions): Promise<Buffer> {
  if (options.secretName !== '') {
    const value = options.secrets.get(options.secretName);
    if (value === undefined) {
      throw new SluiceError('ERR_CONFIG_INVALID', `extProc.versionKeySecret: secret "${options.secretName}" is in no secret store`);
    }
    const key = Buffer.from(value, 'utf8');
    if (key.length < MIN_VERSION_KEY_BYTES) {
      throw new SluiceError('ERR_CONFIG_INVALID', `extProc.versionKeySecret: secret "${options.secretName}" must be at least ${MIN_VERSION_KEY_BYTES} bytes`);
    }
    return key;
  }
  return readOrCreateKeyFile(options.file, options.logger);
}

async function readOrCreateKeyFile(file: string, logger: Logger): Promise<Buffer> {
  const existing = await readKeyFile(file, logger);
  if (existing !== undefined) return existing;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(GENERATED_BYTES);
  // Written whole to a private temporary file, then linked into place: link fails if the name
  // exists, so two gateways starting at once on one folder agree on the first key, and no reader
  // ever sees a half-written file.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const raced = await readKeyFile(file, logger);
      if (raced !== undefined) return raced;
    }
    throw new SluiceError('ERR_CONFIG_INVALID', `extProc.versionKeyFile: cannot create ${file}`, { cause: err, details: { reason: (err as NodeJS.ErrnoException).code } });
  } finally {
    await rm(tmp, { force: true });
  }
  logger.info({ file }, 'secret version key generated');
  return key;
}

async function readKeyFile(file: string, logger: Logger): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SluiceError('ERR_CONFIG_INVALID', `extProc.versionKeyFile: cannot read ${file}`, { cause: err, details: { reason: (err as NodeJS.ErrnoException).code } });
  }
  const hex = text.trim();
  if (!/^(?:[0-9a-f]{2})+$/.test(hex) || hex.length / 2 < MIN_VERSION_KEY_BYTES) {
    throw new SluiceError('ERR_CONFIG_INVALID', `extProc.versionKeyFile: ${file} does not hold a hex key of at least ${MIN_VERSION_KEY_BYTES} bytes`);
  }
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) {
    logger.warn({ file, mode: (mode & 0o777).toString(8) }, 'the secret version key file is readable by others; chmod 600 it');
  }
  return Buffer.from(hex, 'hex');
}
