/*
 * How Envoy's ext_proc filter sends bodies to this processor, and the answers that go with each
 * mode. STREAMED (envoy/gateway.yaml): one answer per chunk, and mode overrides from a headers
 * answer switch bodies on or off per exchange. FULL_DUPLEX_STREAMED: any number of answers per
 * chunk as `streamed_response`, and no overrides (ext-proc/README.md compares the two).
 */

type Message = Record<string, any>;
export type Direction = 'request' | 'response';

/**
 * Sent with a response-headers answer when a body needs no processing: Envoy then streams it
 * straight through instead of through ext-proc (needs allow_mode_override in the filter).
 */
const BODY_NOT_NEEDED = {
  request_header_mode: 'SEND', response_header_mode: 'SEND', request_body_mode: 'NONE', response_body_mode: 'NONE',
  request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP',
};

/**
 * Sent with a request-headers answer when the request body must pass through ext-proc (masked,
 * or recorded). The filter's own mode leaves request bodies out, so uploads cost nothing else.
 */
const REQUEST_BODY_NEEDED = { ...BODY_NOT_NEEDED, request_body_mode: 'STREAMED', response_body_mode: 'STREAMED' };

export class BodyModes {
  private constructor(
    /** Which directions Envoy streams in FULL_DUPLEX_STREAMED mode (else STREAMED or NONE). */
    private readonly duplex: Readonly<Record<Direction, boolean>>,
    /** Whether the filter sends request bodies without being asked (a mode override). */
    readonly requestBodiesArrive: boolean,
  ) {}

  /**
   * From the `protocol_config` of the first message. Without one (Envoy before ~1.34), the modes
   * of envoy/gateway.yaml: request NONE, response STREAMED.
   */
  static from(config: Message | undefined): BodyModes {
    const duplex = {
      request: config?.request_body_mode === 'FULL_DUPLEX_STREAMED',
      response: config?.response_body_mode === 'FULL_DUPLEX_STREAMED',
    };
    return new BodyModes(duplex, config?.request_body_mode === 'STREAMED' || duplex.request);
  }

  static readonly DEFAULT = BodyModes.from(undefined);

  /** Mode overrides are how STREAMED skips unneeded bodies; FULL_DUPLEX_STREAMED does not take them. */
  get overridable(): boolean {
    return !this.duplex.request && !this.duplex.response;
  }

  isDuplex(direction: Direction): boolean {
    return this.duplex[direction];
  }

  /** The request-headers answer, asking for the request body when it must come through here. */
  withRequestBody(answer: Message): Message {
    return { ...answer, mode_override: REQUEST_BODY_NEEDED };
  }

  /**
   * The response-headers answer, sending the response body straight through from now on. A
   * request body may still be streaming (an upstream can answer before the upload ends), and an
   * override replaces every mode: `keepRequestBody` keeps that one flowing through here.
   */
  withoutResponseBody(answer: Message, keepRequestBody: boolean): Message {
    if (!this.overridable) return answer;
    return { ...answer, mode_override: keepRequestBody ? { ...BODY_NOT_NEEDED, request_body_mode: 'STREAMED' } : BODY_NOT_NEEDED };
  }

  /**
   * The answers to one body chunk: `out` replaces it (undefined: it passes unchanged). In duplex
   * mode a chunk with nothing to send yet gets no answer at all.
   */
  bodyAnswers(direction: Direction, chunk: Buffer, out: Buffer | undefined, last: boolean): Message[] {
    const key = direction === 'request' ? 'request_body' : 'response_body';
    if (this.duplex[direction]) {
      const body = out ?? chunk;
      if (body.length === 0 && !last) return [];
      return [{ [key]: { response: { body_mutation: { streamed_response: { body, end_of_stream: last } } } } }];
    }
    return [{ [key]: { response: out === undefined ? { status: 'CONTINUE' } : { status: 'CONTINUE', body_mutation: { body: out } } } }];
  }
}
