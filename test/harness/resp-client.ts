import net from 'node:net';
import { encodeCommand, scanValue } from '../../common/redis/resp.ts';

/**
 * A raw RESP connection for tests: send commands (or any bytes, split as the test likes) and read
 * whole replies as their raw text ("+OK\r\n", "$3\r\nbar\r\n", …), so a test sees exactly what a
 * client would.
 */
export class RespConnection {
  #buffer = Buffer.alloc(0);
  #replies: string[] = [];
  #waiters: (() => void)[] = [];
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      for (let v = scanValue(this.#buffer, 0); v !== null; v = scanValue(this.#buffer, 0)) {
        this.#replies.push(this.#buffer.subarray(0, v.end).toString('utf8'));
        this.#buffer = this.#buffer.subarray(v.end);
      }
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, host = '127.0.0.1'): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new RespConnection(socket)));
      socket.once('error', reject);
    });
  }

  send(...args: string[]): this {
    this.socket.write(encodeCommand(args));
    return this;
  }

  sendRaw(bytes: Buffer | string): this {
    this.socket.write(bytes);
    return this;
  }

  /** The next reply (raw RESP text); rejects after `timeoutMs` or when the connection closes first. */
  async reply(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#replies.length === 0) {
      if (this.closed) throw new Error('connection closed before a reply');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no reply in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return this.#replies.shift()!;
  }

  async command(...args: string[]): Promise<string> {
    return this.send(...args).reply();
  }

  async replies(count: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(await this.reply());
    return out;
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
