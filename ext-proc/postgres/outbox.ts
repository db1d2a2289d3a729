/**
 * How bytes leave a network ext_proc stream. Envoy hands every chunk over and waits: a chunk in
 * one direction (a request) must get one response in that direction, carrying the bytes to pass
 * on — always the bytes, since a response without data drops the chunk. Envoy does not match
 * responses to requests, and injects a response that no request is waiting for all the same.
 *
 * So: each request gets exactly one response in its own direction, with whatever the session
 * produced for that direction while the request was in flight (possibly nothing). Bytes produced
 * when no request of that direction is waiting — the answer to a statement that waited for an
 * approval, the login messages the gateway writes to the server, an error for the client — go
 * out at once as responses of their own. Ordering holds because the session produces bytes in
 * order and every send goes through here.
 */
export type Direction = 'read' | 'write';

export interface NetworkResponse {
  read_data?: { data: Buffer; end_of_stream: boolean };
  write_data?: { data: Buffer; end_of_stream: boolean };
  data_processing_status?: 'UNMODIFIED' | 'MODIFIED';
  connection_status?: 'CONTINUE' | 'CLOSE' | 'CLOSE_RST';
}

const EMPTY = Buffer.alloc(0);

export class Outbox {
  private readonly inFlight = { read: 0, write: 0 };
  /** Whether each request in flight carried end_of_stream (its response carries it on). */
  private readonly endOfStream: { read: boolean[]; write: boolean[] } = { read: [], write: [] };
  private readonly held: { read: Buffer[]; write: Buffer[] } = { read: [], write: [] };
  private closed = false;

  constructor(private readonly send: (response: NetworkResponse) => void) {}

  /** A chunk arrived in `direction`; its response is owed until respond() is called for it. */
  opened(direction: Direction, endOfStream = false): void {
    this.inFlight[direction]++;
    this.endOfStream[direction].push(endOfStream);
  }

  /** Bytes for `direction`, in order. */
  emit(direction: Direction, bytes: Buffer): void {
    if (this.closed || bytes.length === 0) return;
    if (this.inFlight[direction] > 0) this.held[direction].push(bytes);
    else this.send(dataResponse(direction, bytes));
  }

  /** Answers the oldest request of `direction` with what was produced for it (its end_of_stream passed on). */
  respond(direction: Direction): void {
    if (this.inFlight[direction] === 0) return;
    this.inFlight[direction]--;
    const endOfStream = this.endOfStream[direction].shift() ?? false;
    const parts = this.held[direction];
    this.held[direction] = [];
    if (this.closed) return;
    const data = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.send(dataResponse(direction, data, endOfStream));
  }

  /** Ends the connection after everything already produced has gone out. */
  close(): void {
    if (this.closed) return;
    for (const direction of ['read', 'write'] as const) {
      while (this.inFlight[direction] > 0) this.respond(direction);
    }
    this.closed = true;
    this.send({ connection_status: 'CLOSE' });
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

function dataResponse(direction: Direction, data: Buffer, endOfStream = false): NetworkResponse {
  const payload = { data, end_of_stream: endOfStream };
  return direction === 'read'
    ? { read_data: payload, data_processing_status: 'MODIFIED' }
    : { write_data: payload, data_processing_status: 'MODIFIED' };
}
