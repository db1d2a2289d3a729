import { SluiceError } from './errors.ts';

/**
 * The admin server's route table: `METHOD /literal/:param/...` patterns, compiled when a component
 * registers, matched segment by segment. A path that matches a pattern under another method is a
 * 405 naming every method that would work; a path that matches nothing is a 404.
 */
export type Params = Readonly<Record<string, string>>;

export type RouteMatch<H> =
  | { kind: 'found'; handler: H; params: Params }
  | { kind: 'method-not-allowed'; allow: string }
  | { kind: 'not-found' };

interface CompiledRoute<H> {
  method: string;
  pattern: string;
  /** A literal segment, or `{ param }` for a `:param` segment. */
  segments: (string | { param: string })[];
  handler: H;
}

const METHOD = /^[A-Z]+$/;
const PARAM = /^:[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL = /^[A-Za-z0-9._~-]+$/;

export class RouteTable<H> {
  readonly #routes: CompiledRoute<H>[] = [];

  /** Throws ERR_ADMIN_ROUTE_INVALID for a malformed pattern or one already registered. */
  add(method: string, pattern: string, handler: H): void {
    if (!METHOD.test(method)) throw invalid(`method "${method}" must be upper-case letters, e.g. GET`);
    if (!pattern.startsWith('/')) throw invalid(`pattern "${pattern}" must start with /`);
    const segments = pattern === '/' ? [] : pattern.slice(1).split('/').map((segment) => {
      if (PARAM.test(segment)) return { param: segment.slice(1) };
      if (LITERAL.test(segment)) return segment;
      throw invalid(`pattern "${pattern}": segment "${segment}" is neither a literal nor a :param`);
    });
    const names = segments.flatMap((s) => (typeof s === 'string' ? [] : [s.param]));
    if (new Set(names).size !== names.length) throw invalid(`pattern "${pattern}" repeats a parameter name`);
    const shape = (route: { segments: CompiledRoute<H>['segments'] }) => route.segments.map((s) => (typeof s === 'string' ? s : ':')).join('/');
    const clash = this.#routes.find((r) => r.method === method && shape(r) === shape({ segments }));
    if (clash) throw invalid(`${method} ${pattern} is already registered (as ${clash.pattern})`);
    this.#routes.push({ method, pattern, segments, handler });
  }

  match(method: string, pathname: string): RouteMatch<H> {
    const parts = pathname === '/' ? [] : pathname.slice(1).split('/');
    const allow = new Set<string>();
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (params === undefined) continue;
      if (route.method === method) return { kind: 'found', handler: route.handler, params };
      allow.add(route.method);
    }
    if (allow.size > 0) return { kind: 'method-not-allowed', allow: [...allow].sort().join(', ') };
    return { kind: 'not-found' };
  }
}

function matchSegments(segments: CompiledRoute<unknown>['segments'], parts: string[]): Params | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if (typeof segment === 'string') {
      if (segment !== part) return undefined;
      continue;
    }
    // An empty or undecodable segment is no value at all: `/approvals/` is not `/approvals/:id`.
    if (part === '') return undefined;
    try {
      params[segment.param] = decodeURIComponent(part);
    } catch {
      return undefined;
    }
  }
  return params;
}

function invalid(message: string): SluiceError {
  return new SluiceError('ERR_ADMIN_ROUTE_INVALID', message);
}
