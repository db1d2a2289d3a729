import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A small tmpfs for the session files, so "disk full" is a real ENOSPC from the kernel: fill()
 * writes a filler file until the filesystem refuses, free() deletes it. Needs root (mount).
 */
export class SmallDisk {
  private constructor(readonly mountPoint: string) {}

  static async mount(mountPoint: string, sizeMb: number): Promise<SmallDisk> {
    mkdirSync(mountPoint, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', mountPoint]).catch((err: Error & { stderr?: string }) => {
      throw new Error(`cannot mount a tmpfs at ${mountPoint} (the disk-full fault needs root): ${err.stderr?.trim() || err.message}`);
    });
    return new SmallDisk(mountPoint);
  }

  private get filler(): string {
    return path.join(this.mountPoint, 'filler');
  }

  /** Writes 64 KiB blocks until ENOSPC, then the rest byte-sized blocks: the disk is full to the byte. */
  async fill(): Promise<void> {
    const handle = await open(this.filler, 'a');
    try {
      for (const size of [65536, 4096, 512, 1]) {
        const block = Buffer.alloc(size, 0x2e);
        for (;;) {
          try {
            await handle.write(block);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
      }
    } finally {
      await handle.close();
    }
  }

  free(): void {
    rmSync(this.filler, { force: true });
  }

  async unmount(): Promise<void> {
    await run('umount', ['-l', this.mountPoint]).catch(() => undefined);
    rmSync(this.mountPoint, { recursive: true, force: true });
  }
}
